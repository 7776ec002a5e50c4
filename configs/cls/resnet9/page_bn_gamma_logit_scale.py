# Step 5: BatchNorm γ starts at 1 (PyTorch 0.4, which the page used, drew it from U[0, 1]), the head loses its bias
# and its logits are multiplied by 0.125: 91.1 % on the page.
_base_ = './page_global_max_pool.py'
model = dict(logit_scale=0.125, head_bias=False, backbone=dict(bn_weight_init='ones'))
