# Step 2: a stride-2 3×3 conv-BN-ReLU downsamples instead of the 1×1: 85.6 % on the page.
_base_ = './page_shortest_path.py'
model = dict(backbone=dict(downsample='conv3x3'))
