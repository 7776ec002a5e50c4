"""The README's trick index stays true: every file it names exists and defines the names it lists, and every test it
names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def trick_index() -> list[list[str]]:
    text = (ROOT / 'README.md').read_text()
    table = text.split('## Trick index', 1)[1].split('\n## ', 1)[0]
    rows = [line for line in table.splitlines() if line.startswith('| ') and not line.startswith('| trick ')]
    return [[cell.strip() for cell in re.split(r'(?<!\\)\|', row)[1:-1]] for row in rows]


def defines(path: Path, name: str) -> bool:
    source = path.read_text()
    return all(re.search(rf'^\s*(def|class) {re.escape(part)}\b|^{re.escape(part)} = ', source, re.M)
               for part in name.split('.'))  # fmt: skip


def test_every_code_reference_in_the_trick_index_exists():
    checked = 0
    for trick, _, code, _ in trick_index():
        for reference in re.findall(r'`([^`]+)`', code):
            path, _, names = reference.partition(': ')
            if not (ROOT / path).is_file():
                assert not path.endswith('.py'), f'{trick}: {path} not found'
                continue  # a library's name (e.g. mmengine `Runner.scale_lr`)
            for name in filter(None, (n.strip() for n in names.split(','))):
                assert defines(ROOT / path, name), f'{trick}: {path} does not define {name}'
                checked += 1
    assert checked >= 30


def test_every_test_named_in_the_trick_index_exists():
    checked = 0
    for trick, _, _, tests in trick_index():
        current = None
        for reference in re.findall(r'`([^`]+)`', tests):
            path, _, name = reference.partition('::')
            if path.startswith('tests/'):
                current = ROOT / path
                assert current.is_file(), f'{trick}: {path} not found'
            else:  # a bare test name continues the file named before it
                name = reference
            if name:
                assert current is not None and re.search(rf'^def {name}\(', current.read_text(), re.M), (
                    f'{trick}: {current} has no {name}'
                )
                checked += 1
    assert checked >= 20
