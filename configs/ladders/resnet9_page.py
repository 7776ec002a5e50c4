# "How to train your ResNet" (cifar10-fast), part 4: the page's architecture search on CIFAR-10 as a ladder, one row
# per step (configs/cls/resnet9/page_*.py, each inheriting the one before), its figures beside ours. Ten seeds per row
# as the page measured (σ ≈ 0.15 % per run). Sized for one GPU: about 20 epochs × 10 seeds × 8 rows; a 2-core CPU
# runs configs/ladders/resnet9_page_cpu.py.
reference = 'How to train your ResNet (cifar10-fast): CIFAR-10 test top-1, 20 epochs unless a row says otherwise'
seeds = 10
data_roots = dict(cls='data/cifar10')
rows = [
    dict(name='shortest path', paper=55.9, cls='configs/cls/resnet9/page_shortest_path.py'),
    dict(name='3×3 downsampling convs', paper=85.6, cls='configs/cls/resnet9/page_conv3x3_downsample.py'),
    dict(name='conv + 2×2 max-pool', paper=89.7, cls='configs/cls/resnet9/page_conv_pool.py'),
    dict(name='global max pool, last width ×2', paper=90.7, cls='configs/cls/resnet9/page_global_max_pool.py'),
    dict(name='BN γ = 1, logits × 0.125', paper=91.1, cls='configs/cls/resnet9/page_bn_gamma_logit_scale.py'),
    dict(name='Residual: L1+L3', paper=93.8, cls='configs/cls/resnet9/page_residual_l1_l3.py'),
    dict(name='Residual: L1+L3, 24 epochs (the record)', paper=94.08, cls='configs/cls/resnet9/record.py'),
    dict(name='Extra: L1+L2+L3, 60 epochs', paper=95.0, cls='configs/cls/resnet9/page_extra_l1_l2_l3.py'),
]
