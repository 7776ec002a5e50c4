# Table 6, + label smoothing ε = 0.1. Expected 78.31.
_base_ = './resnet50d_cosine.py'
model = dict(data_preprocessor=dict(label_smoothing=0.1))
