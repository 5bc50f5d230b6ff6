"""The files of torch.utils.data's submodule paths.

compgraph.utils.data (a module) lists this folder in its __path__, so these files import
as compgraph.utils.data.dataloader, .dataset and .sampler, the paths PyTorch programs use.
This __init__ only makes the folder part of the installed package."""
