"""The parameter arithmetic of one module, written out with its numbers: `(5·5·192+1)·32 = 153,632`."""

from __future__ import annotations

from torch import nn

from analyzers.numbers import n, product


def params_formula(module: nn.Module, own_params: int) -> str:
    """Explain `own_params` for the common layer types; other modules list their parameter tensors."""
    if own_params == 0:
        return "no parameters" if not isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) else "pooling has no parameters"
    bias = getattr(module, "bias", None) is not None
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = "·".join(str(k) for k in module.kernel_size)
        if module.transposed:
            per_filter, filters = module.out_channels // module.groups, module.in_channels
        else:
            per_filter, filters = module.in_channels // module.groups, module.out_channels
        weights = f"{kernel}·{per_filter}"
        if bias and not module.transposed:
            return f"({weights}+1)·{filters} = {n(own_params)}"
        text = f"{weights}·{filters}" + (f" + {module.out_channels}" if bias else "")
        return f"{text} = {n(own_params)}"
    if isinstance(module, nn.Linear):
        if bias:
            return f"({n(module.in_features)}+1)·{n(module.out_features)} = {n(own_params)}"
        return f"{n(module.in_features)}·{n(module.out_features)} = {n(own_params)}"
    if isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
        per = own_params // 2 if bias else own_params
        return f"{'γ, β' if bias else 'γ'}: {'2·' if bias else ''}{n(per)} = {n(own_params)}"
    parts = [
        f"{name} {'×'.join(str(d) for d in p.shape) or '1'}"
        for name, p in module.named_parameters(recurse=False)
    ]
    if len(parts) == 1 and product(next(module.parameters(recurse=False)).shape) == own_params:
        return f"{parts[0]} = {n(own_params)}"
    return f"{' + '.join(parts)} = {n(own_params)}"
