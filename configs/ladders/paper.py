# The full reproduction of the paper's Tables 8 and 9: each ResNet-50-D recipe of Table 6 trained on ImageNet, its
# backbone fine-tuned in Faster R-CNN on VOC07+12 and in FCN on ADE20K (stock mmdet/mmseg schedules), and NFNet-F0
# beside them. One machine with 8 GPUs: every run is launched with torchrun on all of them, one run at a time.
# Data roots are the configs' own (data/imagenet, data/VOCdevkit, data/ade/ADEChallengeData2016); set them here.
nproc_per_node = 8
jobs = 1
data_roots = dict(cls=None, det=None, seg=None)


def row(name, recipe):
    return dict(name=name, paper=name, cls=f'configs/cls/imagenet/{recipe}.py', det=f'configs/det/voc/{recipe}.py',
                seg=f'configs/seg/ade20k/{recipe}.py')


rows = [
    row('B-standard', 'resnet50b_standard'),
    row('D-ResNet', 'resnet50d_efficient'),
    row('+ cosine', 'resnet50d_cosine'),
    row('+ label smoothing', 'resnet50d_cosine_ls'),
    row('+ distill w/o mixup', 'resnet50d_cosine_ls_distill'),
    row('+ mixup w/o distill', 'resnet50d_cosine_ls_mixup'),
    row('+ distill w/ mixup', 'resnet50d_cosine_ls_distill_mixup'),
    dict(name='NFNet-F0 (AGC)', cls='configs/cls/imagenet/nfnet_f0_agc.py', det='configs/det/voc/nfnet_f0.py',
         seg='configs/seg/ade20k/nfnet_f0.py'),
]
