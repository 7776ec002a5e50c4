# Step 3: a stride-1 3×3 conv-BN-ReLU, then a 2×2 max-pool: 89.7 % on the page.
_base_ = './page_conv3x3_downsample.py'
model = dict(backbone=dict(downsample='pool'))
