"""The classifier: preprocessing on the device, smoothing + mixup into the loss, distillation with a frozen teacher."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

import cls  # noqa: F401  (registration)
from backbones.registry import METRICS, MODELS
from cls.losses import distillation_losses, smooth_targets, soft_cross_entropy

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)

NUM_CLASSES = 5
BACKBONE = dict(type='tricks.ResNet', depth=18, variant='d', base_channels=8, out_indices=(3,))


def batch(n: int = 4, size: int = 32, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen),
        labels=torch.arange(n) % NUM_CLASSES,
    )


def classifier(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='tricks.ImageClassifier', backbone=BACKBONE, num_classes=NUM_CLASSES, **kwargs))


def test_preprocessor_normalises_and_smooths_only_training_batches():
    model = classifier(data_preprocessor=dict(label_smoothing=0.1))
    data = batch()
    train = model.data_preprocessor(data, training=True)
    val = model.data_preprocessor(data, training=False)
    mean = torch.tensor([123.68, 116.78, 103.94]).view(1, 3, 1, 1)
    std = torch.tensor([58.39, 57.12, 57.38]).view(1, 3, 1, 1)
    torch.testing.assert_close(train['inputs'], (data['inputs'].float() - mean) / std)
    torch.testing.assert_close(train['targets'], smooth_targets(data['labels'], NUM_CLASSES, 0.1))
    torch.testing.assert_close(val['targets'], smooth_targets(data['labels'], NUM_CLASSES, 0.0))


def test_loss_is_soft_cross_entropy_of_the_mixed_smoothed_targets():
    model = classifier(
        data_preprocessor=dict(label_smoothing=0.1, batch_augments=[dict(type='tricks.Mixup', alpha=0.2)])
    )
    np.random.seed(3)
    processed = model.data_preprocessor(batch(), training=True)
    assert not torch.allclose(processed['targets'].max(1).values, torch.tensor(0.9))  # mixed
    loss = model(**processed, mode='loss')
    expected = soft_cross_entropy(model(processed['inputs']), processed['targets'])
    assert loss.keys() == {'loss_cls'}
    torch.testing.assert_close(loss['loss_cls'], expected)


def test_one_train_step_moves_backbone_and_head():
    model = classifier()
    before = [p.detach().clone() for p in model.parameters()]
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(batch(), wrapper)
    assert torch.isfinite(log['loss'])
    assert all(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


def test_predict_and_accuracy_metric():
    model = classifier().eval()
    data = batch(n=6)
    outputs = model.val_step(data)
    assert len(outputs) == 6 and outputs[0]['scores'].shape == (NUM_CLASSES,)
    metric = METRICS.build(dict(type='tricks.Accuracy', topk=(1, 5)))
    metric.process(data, outputs)
    results = metric.evaluate(6)
    logits = model(model.data_preprocessor(data)['inputs'])
    top1 = (logits.argmax(1) == data['labels']).float().mean().item() * 100
    assert results['top1'] == pytest.approx(top1) and results['top5'] == 100.0


def test_channels_last_gives_the_same_logits():
    data = batch()
    plain, nhwc = classifier().eval(), classifier(channels_last=True).eval()
    nhwc.load_state_dict(plain.state_dict())
    assert nhwc.backbone.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        a = plain(plain.data_preprocessor(data)['inputs'])
        b = nhwc(nhwc.data_preprocessor(data)['inputs'])
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_distillation_uses_a_frozen_teacher_on_the_same_batch(tmp_path):
    teacher_cfg = tmp_path / 'teacher.py'
    teacher_cfg.write_text(
        f'model = dict(type="tricks.ImageClassifier", num_classes={NUM_CLASSES}, '
        f'backbone=dict(type="tricks.ResNet", depth=34, variant="d", base_channels=8, '
        f'out_indices=(3,)))\n'
    )
    teacher_model = MODELS.build(Config.fromfile(str(teacher_cfg)).model)
    torch.save({'state_dict': teacher_model.state_dict()}, tmp_path / 'teacher.pth')

    model = classifier(teacher=dict(config=str(teacher_cfg), checkpoint=str(tmp_path / 'teacher.pth')))
    teacher = model.teacher.model
    assert not any(k.startswith('teacher') for k in model.state_dict())  # not saved with the student
    assert all(not p.requires_grad for p in teacher.parameters())
    snapshot = {k: v.clone() for k, v in teacher.state_dict().items()}

    model.train()
    processed = model.data_preprocessor(batch(), training=True)
    losses = model(**processed, mode='loss')
    with torch.no_grad():
        teacher_logits = teacher_model.eval()(processed['inputs'])
    expected = distillation_losses(model(processed['inputs']), teacher_logits, processed['targets'], 20.0, (0.5, 0.5))
    assert losses.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(losses[key], expected[key])
    sum(losses.values()).backward()
    assert not teacher.training  # model.train() did not reach it
    assert all(p.grad is None for p in teacher.parameters())
    assert all(torch.equal(v, snapshot[k]) for k, v in teacher.state_dict().items())  # BN stats untouched


@pytest.mark.parametrize('pooling', ['avg', 'max', 'avgmax'])
def test_global_pooling_logit_scale_and_bias_free_head_are_config_keys(pooling):
    model = classifier(pooling=pooling, logit_scale=0.125, head_bias=False).eval()
    x = model.data_preprocessor(batch(), training=False)['inputs']
    features = model.backbone(x)[-1]
    pooled = {'avg': features.mean((2, 3)), 'max': features.flatten(2).max(dim=2).values}
    pooled['avgmax'] = torch.cat([pooled['avg'], pooled['max']], dim=1)
    assert model.head.bias is None and model.head.in_features == pooled[pooling].shape[1]
    torch.testing.assert_close(model(x), 0.125 * pooled[pooling] @ model.head.weight.T)
    card = model.trick_card()
    assert (card['pooling'], card['logit_scale'], card['head_bias']) == (pooling, 0.125, False)
    with pytest.raises(ValueError, match="pooling 'sum'"):
        classifier(pooling='sum')


def test_test_flip_predicts_from_the_mean_logits_of_the_image_and_its_mirror():
    model = classifier(test_flip=True).eval()
    data = batch()
    x = model.data_preprocessor(data, training=False)['inputs']
    with torch.no_grad():
        mirrored = torch.stack([image.flip(-1) for image in x])  # each image's mirror, built by hand
        expected = ((model(x) + model(mirrored)) / 2).softmax(dim=1)
        scores = torch.stack([p['scores'] for p in model(x, data['labels'], mode='predict')])
        plain = torch.stack([p['scores'] for p in classifier().eval()(x, data['labels'], mode='predict')])
    torch.testing.assert_close(scores, expected)
    assert not torch.allclose(scores, model(x).softmax(dim=1))  # the mirror changed the prediction
    torch.testing.assert_close(plain, classifier().eval()(x).softmax(dim=1))  # off by default
    assert model.trick_card()['test_flip'] is True


def test_test_translate_adds_the_reflect_padded_one_pixel_shifts_with_their_mirrors():
    """airbench's 6-view TTA: ½ (image + mirror)/2 + ¼ each of the up-left and down-right shifts with their mirrors;
    the shifted views built by numpy's reflect padding, the answer key."""
    model = classifier(test_flip=True, test_translate=1).eval()
    data = batch()
    x = model.data_preprocessor(data, training=False)['inputs']
    padded = torch.from_numpy(np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode='reflect'))
    up_left, down_right = padded[:, :, :32, :32], padded[:, :, 2:, 2:]
    assert torch.equal(up_left[:, :, 1:, 1:], x[:, :, :31, :31])  # the content moved one pixel down-right
    with torch.no_grad():

        def pair(v):
            return (model(v) + model(v.flip(-1))) / 2

        expected = (pair(x) / 2 + pair(up_left) / 4 + pair(down_right) / 4).softmax(dim=1)
        scores = torch.stack([p['scores'] for p in model(x, data['labels'], mode='predict')])
        flip_only = classifier(test_flip=True).eval()
        flipped = torch.stack([p['scores'] for p in flip_only(x, data['labels'], mode='predict')])
    torch.testing.assert_close(scores, expected)
    assert not torch.allclose(scores, flipped)
    assert model.trick_card()['test_translate'] == 1 and flip_only.trick_card()['test_translate'] == 0
    with pytest.raises(ValueError, match='test_translate=-1'):
        classifier(test_translate=-1)
