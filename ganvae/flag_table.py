"""Every command's flags, for the torch-free outline of the command line (ganvae/commands.py).

Generated from ganvae/cli.py by `python scripts/cli_reference.py`; do not edit by hand.
"""

FLAGS: dict[str, tuple[str, ...]] = {
    'datasets': (
        '-h', '--help', '--data-dir',
    ),
    'train': (
        '-h', '--help', '--data', '--data-dir', '--split', '--n-examples', '--n-samples', '--image-size',
        '--data-seed', '--no-download', '--arch', '--epochs', '--steps', '--minutes', '--batch-size', '--lr',
        '--latent-dim', '--hidden', '--ema-decay', '--augment', '--d-norm', '--kl-weight', '--beta',
        '--kl-warmup', '--reuse-fakes', '--k', '--gamma', '--gp-weight', '--n-critic', '--seed', '--device',
        '--precision', '--out', '--resume', '--checkpoint-every', '--log-every', '--print-config',
        '--no-progress', '--tensorboard', '--config', '--format',
    ),
    'sample': (
        '-h', '--help', '-n', '--n-samples', '-o', '--output', '--seed', '--device', '--prior',
        '--gmm-components', '--label',
    ),
    'evaluate': (
        '-h', '--help', '--data', '--data-dir', '--split', '-n', '--n-eval', '--n-samples', '--features',
        '--iw-samples', '--nll-examples', '--seed', '--out', '--no-download', '--device', '--prior',
        '--gmm-components',
    ),
    'compare': (
        '-h', '--help', '--data', '--data-dir', '--split', '--n-examples', '--n-samples', '--image-size',
        '--data-seed', '--no-download', '--families', '--arch', '--budget', '--images', '--epochs', '--seeds',
        '-n', '--n-eval', '--iw-samples', '--nll-examples', '--device', '--precision', '--out', '--rescore',
        '--prior', '--gmm-components', '--no-progress', '--tensorboard', '--workers', '--shard',
    ),
    'advise': (
        '-h', '--help', '--data', '--data-dir', '--split', '--n-examples', '--n-samples', '--image-size',
        '--data-seed', '--no-download', '--need', '--budget', '--seeds', '--from', '--out', '--no-progress',
    ),
    'export': (
        '-h', '--help', '--format', '-o', '--output',
    ),
    'explore': (
        '-h', '--help', '--seed', '--out',
    ),
}
