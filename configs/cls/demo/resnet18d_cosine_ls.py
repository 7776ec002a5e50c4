# Table 6, + label smoothing ε = 0.1.
_base_ = './resnet18d_cosine.py'
model = dict(data_preprocessor=dict(label_smoothing=0.1))
