"""What the analysis knows about PyTorch, NumPy and Python: which calls create, keep or drop gradients.

Names are fully qualified (``torch.zeros``), as resolved through the file's imports; tensor methods and
attributes are bare names (``detach``) because their receiver's type is inferred, not declared.
"""

from __future__ import annotations

# Tensors built from sizes or constants: no gradient unless ``requires_grad=True`` is passed.
FACTORIES = frozenset(
    "torch." + name
    for name in (
        "zeros ones empty full eye rand randn randint randperm normal poisson bernoulli multinomial "
        "zeros_like ones_like empty_like full_like rand_like randn_like randint_like "
        "arange range linspace logspace tensor as_tensor asarray from_numpy frombuffer empty_strided "
        "tril_indices triu_indices scalar_tensor Tensor FloatTensor DoubleTensor HalfTensor BFloat16Tensor "
        "LongTensor IntTensor ShortTensor ByteTensor CharTensor BoolTensor"
    ).split()
)

# Size-like positional arguments of factories: a severed number used there is a shape, not a value.
SIZE_ARGUMENT_FUNCTIONS = frozenset(
    "torch." + name for name in "zeros ones empty rand randn randint randperm eye full empty_strided".split()
)

# Results that never carry a gradient, whatever the inputs.
NON_DIFFERENTIABLE_FUNCTIONS = frozenset(
    "torch." + name
    for name in (
        "argmax argmin argsort argwhere nonzero eq ne lt le gt ge equal isclose allclose isnan isinf "
        "isfinite isposinf isneginf isreal is_tensor is_floating_point is_complex is_nonzero numel "
        "count_nonzero bucketize searchsorted bincount histc unique unique_consecutive logical_and logical_or "
        "logical_not logical_xor any all result_type promote_types can_cast get_default_dtype "
        "broadcast_shapes nn.init._calculate_fan_in_and_fan_out nn.init._calculate_correct_fan "
        "nn.init.calculate_gain nn.functional.one_hot"
    ).split()
)

# Questions about a value's type or size, never about the numbers it holds: a branch on their answer has no
# boundary value at which a gradient could be lost.
TYPE_AND_SIZE_TESTS = frozenset(
    {
        "isinstance",
        "issubclass",
        "hasattr",
        "callable",
        "type",
        "id",
        "len",
        "torch.is_tensor",
        "torch.is_floating_point",
        "torch.is_complex",
        "torch.numel",
    }
)

NON_DIFFERENTIABLE_METHODS = frozenset(
    (
        "size dim ndimension numel nelement element_size stride storage_offset is_contiguous data_ptr "
        "get_device argmax argmin argsort nonzero eq ne lt le gt ge isnan isinf isfinite any all equal "
        "allclose isclose is_floating_point is_complex count_nonzero unique bincount logical_not "
        "logical_and logical_or logical_xor is_set_to is_shared is_pinned untyped_storage _indices indices "
        "crow_indices col_indices"
    ).split()
)

# Of those, the results piecewise constant in their first input: the position of an extreme, an order comparison.
THRESHOLDS = frozenset("argmax argmin gt lt ge le greater less greater_equal less_equal".split())

NON_DIFFERENTIABLE_ATTRIBUTES = frozenset(
    (
        "shape dtype device ndim is_cuda is_leaf requires_grad grad_fn layout names is_sparse is_quantized "
        "is_meta itemsize nbytes grad _version output_nr is_mps is_cpu"
    ).split()
)

_INTEGER_TENSOR_CLASSES = "LongTensor IntTensor ShortTensor ByteTensor CharTensor BoolTensor".split()
INTEGER_DTYPES = frozenset(
    ["torch." + name for name in "int int8 int16 int32 int64 long short uint8 uint16 uint32 uint64 bool".split()]
    + ["torch." + name for name in _INTEGER_TENSOR_CLASSES]
    + ["torch.cuda." + name for name in _INTEGER_TENSOR_CLASSES]
)
# ``t.type("torch.LongTensor")`` names the type in a string.
INTEGER_DTYPE_STRINGS = frozenset(name for name in INTEGER_DTYPES if name.endswith("Tensor"))
# Piecewise constant: the derivative is zero wherever it exists (as tensor methods, and as torch functions).
STEP_NAMES = frozenset("floor ceil round trunc fix sign sgn".split())
STEP_FUNCTIONS = frozenset("torch." + name for name in STEP_NAMES | {"special.round"})
DIVISIONS = frozenset({"torch.div", "torch.divide"})  # steps with a rounding_mode
INTEGER_CAST_METHODS = frozenset("long int short byte char bool".split())

# Views and conversions: the result is the receiver's values in another shape, dtype or device, and the
# arguments are shapes, dimensions, dtypes or a tensor whose shape or dtype is copied.
VIEW_METHODS = frozenset(
    "view view_as reshape reshape_as expand expand_as broadcast_to permute transpose t movedim unsqueeze squeeze "
    "flatten unflatten to type type_as float double half bfloat16 contiguous cpu cuda".split()
)
# Methods whose arguments are shapes, dimensions or indices, though the result is a new computation.
SHAPE_METHODS = frozenset("repeat narrow select roll tile index_select gather chunk split tensor_split unfold".split())
# Attributes and methods only tensors have: a value read or called with them is a tensor.
TENSOR_ONLY = frozenset(
    "device requires_grad grad grad_fn is_leaf detach detach_ requires_grad_ backward register_hook cuda numel dim "
    "unsqueeze contiguous new_zeros new_ones new_empty new_full new_tensor type_as expand_as view_as masked_fill "
    "masked_fill_ clamp clamp_ softmax log_softmax float double half long bfloat16".split()
)
# Attributes of a tensor that are tensors carrying its gradient; any other attribute of a value that is not an
# instance of a known class is something we cannot see.
TENSOR_ATTRIBUTES = frozenset("T mT H mH real imag".split())

# Grad-mode contexts and decorators.
GRAD_DISABLING = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.autograd.no_grad",
        "torch.autograd.inference_mode",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.grad_mode.inference_mode",
    }
)
GRAD_SWITCH = frozenset(
    {"torch.set_grad_enabled", "torch.autograd.set_grad_enabled", "torch.autograd.grad_mode.set_grad_enabled"}
)
GRAD_ENABLING = frozenset({"torch.enable_grad", "torch.autograd.enable_grad", "torch.autograd.grad_mode.enable_grad"})

# Functions that differentiate their tensor arguments: a cut value handed to them is a cut that matters most.
DIFFERENTIATING_FUNCTIONS = frozenset({"torch.autograd.backward", "torch.autograd.grad"})

# Last names of annotations that say "a tensor" in the typing helpers of other libraries (torchtyping's
# TensorType, jaxtyping's Float[Tensor, ...], tensor subclasses).
TENSOR_TYPE_NAMES = frozenset({"Tensor", "TensorType", "Parameter"})

# Collectives that write their result into their first argument (a tensor, or a list of tensors).
FILLS_FIRST_ARGUMENT = frozenset(
    "torch.distributed." + name
    for name in "all_reduce reduce all_gather all_gather_into_tensor reduce_scatter reduce_scatter_tensor "
    "all_to_all all_to_all_single broadcast".split()
)

# Bases of classes that define their own gradient.
CUSTOM_FUNCTION_BASES = frozenset({"torch.autograd.Function", "torch.autograd.function.Function"})

PARAMETER_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})

# Annotations that say "this is a tensor".
TENSOR_TYPES = frozenset(
    {
        "torch.Tensor",
        "torch.FloatTensor",
        "torch.DoubleTensor",
        "torch.nn.Parameter",
        "torch.nn.parameter.Parameter",
        "Tensor",
    }
)

# ``torch.nn`` modules without parameters: calling one is a pure function of its input.
PARAMETER_FREE_MODULES = frozenset(
    "torch.nn." + name
    for name in (
        "ReLU ReLU6 LeakyReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Softmax LogSoftmax Softplus Softsign "
        "Hardtanh Hardsigmoid Hardswish Tanhshrink Threshold Dropout Dropout1d Dropout2d Dropout3d AlphaDropout "
        "Identity Flatten Unflatten MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d AvgPool3d "
        "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d "
        "AdaptiveMaxPool3d Upsample PixelShuffle PixelUnshuffle MSELoss L1Loss CrossEntropyLoss NLLLoss "
        "BCELoss BCEWithLogitsLoss SmoothL1Loss HuberLoss KLDivLoss CosineSimilarity PairwiseDistance"
    ).split()
)

NUMPY_MODULES = ("numpy", "scipy")
MATH_MODULES = ("math", "cmath")
# Libraries whose functions the analysis knows by name, rather than by reading them.
LIBRARY_ROOTS = ("torch",) + NUMPY_MODULES + MATH_MODULES
PYTHON_SCALARS = frozenset({"float", "int", "complex"})
# Conversions whose result is a whole number: a step, whose gradient is zero wherever it exists, so that nothing
# differentiable is lost by them (what the number then does is the zero-gradient rules' question).
INTEGER_CONVERSIONS = frozenset(
    {
        "int",
        "round",
        "math.floor",
        "math.ceil",
        "math.trunc",
        "math.isqrt",
        "math.factorial",
        "math.comb",
        "math.perm",
        "math.gcd",
        "math.lcm",
    }
)

# Consumers for which a severed value is only looked at, never computed with.
BENIGN_FUNCTIONS = frozenset(
    {
        "print",
        "repr",
        "str",
        "format",
        "len",
        "isinstance",
        "issubclass",
        "hasattr",
        "id",
        "type",
        "hash",
        "range",
        "round",
        "bool",
        "warnings.warn",
        "numpy.save",
        "numpy.savez",
        "numpy.savez_compressed",
        "numpy.savetxt",
        "torch.save",
        "json.dump",
        "json.dumps",
        "pickle.dump",
        "pickle.dumps",
    }
)
BENIGN_METHODS = frozenset(
    (
        "debug info warning warn error critical exception log write writelines add_scalar add_scalars "
        "add_histogram add_image add_images add_figure add_text set_postfix set_postfix_str set_description "
        "savefig imsave imwrite dump dumps format join tofile "
        # plotting (matplotlib's axes and figures)
        "plot scatter imshow matshow contour contourf tricontour tricontourf tripcolor pcolor pcolormesh hist "
        "hist2d bar barh fill_between errorbar semilogx semilogy loglog quiver streamplot stem hexbin violinplot "
        "boxplot set_data set_xdata set_ydata set_array set_offsets colorbar"
    ).split()
)
# Libraries that show or tabulate what they are given (plots, tables): nothing comes back from them with a gradient.
DISPLAY_ROOTS = ("matplotlib", "seaborn", "plotly", "pandas")
# Methods that put their arguments into the receiver (a list, dict or set).
CONTAINER_STORES = frozenset("append extend insert add update setdefault appendleft extendleft".split())
