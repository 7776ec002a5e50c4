# Step 6, the record net: residual branches after layers 1 and 3 ("Residual: L1+L3"): 93.8 % in 20 epochs on the
# page (record.py: 94.08 % in 24).
_base_ = './page_bn_gamma_logit_scale.py'
model = dict(backbone=dict(res_layers=('layer1', 'layer3')))
