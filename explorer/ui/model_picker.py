"""Pick a model from any source the app offers — the zoo, or a torchvision / timm model by its library name — then
its builder options, input size, batch and storage precision: one `ModelChoice` every view can start from.

Every field is read exactly (`whole_number`): an entry that cannot be used is named in `problem`, and the page
shows that instead of numbers computed for another input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from analyzers.devices import Precision
from analyzers.numbers import decimal_number
from analyzers.errors import UserError
from explorer.ui.cached_analysis import (
    ModelRequest,
    library_default_size,
    library_model,
)
from explorer.ui.whole_number import (
    Entry,
    entry_problems,
    parse_whole_number,
    whole_number_input,
)
from explorer.zoo import Family, get_model_info, list_models
from explorer.zoo.build_options import Option, OptionKind

__all__ = ["MAX_BATCH", "MAX_SIDE", "RANGE_TEXT", "SOURCES", "ZOO", "ModelChoice", "PickedName", "default_size", "pick_model", "pick_name", "pick_source"]

ALL_FAMILIES = "All families"
PREFERRED_START = ("resnet50", "vgg16", "lenet5")  # what the app opens on: a whole network, not one block
ZOO = "zoo"
SOURCES = (ZOO, "torchvision", "timm")
LIBRARY_STARTS = {"torchvision": "resnet50", "timm": "resnet50"}

MAX_SIDE = 4096  # H, W, T and C a user may ask for (the meta-device analysis costs the same at any size)
MAX_BATCH = 4096
RANGE_TEXT = f"H, W and C 1–{MAX_SIDE:,}; batch 1–{MAX_BATCH:,}"
DTYPES = {p.value: f"{p.value} ({p.element_bytes} bytes)" for p in Precision}
DTYPE_HELP = ("Storage precision of weights and activations: activation and weight bytes follow it; counts of "
              "parameters and MACs do not (the CLI's --dtype)")


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model and its request; `problem` says why it cannot be analysed as entered (None: it can)."""

    title: str  # the zoo name or the library reference
    source: str  # "zoo", "torchvision", "timm"
    request: ModelRequest
    caption: str  # family and paper, as Markdown
    description: str = ""
    problem: str | None = None

    @property
    def scope(self) -> str:
        return self.title


def start_model(address: bool = True) -> str:
    """The model shown on first load: `?model=NAME` in the address (a zoo name or a library reference), else the
    first of PREFERRED_START registered."""
    names = [m.name for m in list_models()]
    wanted = st.query_params.get("model") if address else None
    if wanted in names or (wanted and wanted.partition(":")[0] in SOURCES[1:]):
        return wanted
    return next((name for name in PREFERRED_START if name in names), names[0])


def families_in_order() -> list[Family]:
    present = {m.family for m in list_models()}
    return [f for f in Family if f in present]


def model_names(family: Family | None) -> list[str]:
    """Names grouped by family in the seeds' order (LeNet → EfficientNet), registration order within one."""
    models = list_models(family=family)
    order = {f: i for i, f in enumerate(Family)}
    return [m.name for m in sorted(models, key=lambda m: order[m.family])]


@st.cache_data(show_spinner=False)
def library_families(source: str) -> dict[str, list[str]]:
    """Family → names, as the library lists them (cached: timm lists ~1,400)."""
    from explorer.catalogue import Catalogue, family, names

    catalogue = Catalogue(source)
    grouped: dict[str, list[str]] = {}
    for name in names(catalogue):
        grouped.setdefault(family(catalogue, name), []).append(name)
    return dict(sorted(grouped.items()))


def pick_source(scope: str, start: str) -> str:
    """zoo / torchvision / timm; a library reference in the address (`?model=timm:…`) chooses its source."""
    key = f"{scope}_source"
    if key not in st.session_state:
        prefix = start.partition(":")[0] if ":" in start else ZOO
        st.session_state[key] = prefix if prefix in SOURCES else ZOO
    return st.radio("Source", SOURCES, horizontal=True, key=key,
                    help="zoo: this project's models; torchvision / timm: every model those libraries list, by "
                         "its library name")  # fmt: skip


def _pick_zoo(scope: str, start: str) -> tuple[str, str, str]:
    """Family, then model (searchable): returns (name, caption, description)."""
    family_label = st.selectbox("Family", [ALL_FAMILIES, *(f.value for f in families_in_order())],
                                key=f"{scope}_family",
                                help="Narrow the list to one family, or type in the model box below to search "
                                     "every model.")  # fmt: skip
    names = model_names(None if family_label == ALL_FAMILIES else Family(family_label))
    key = f"{scope}_model"
    index = names.index(start) if start in names and key not in st.session_state else 0  # state set: it decides
    name = st.selectbox("Model", names, index=index, key=key,
                        format_func=lambda n: f"{n}  ·  {get_model_info(n).family.value}", help="Type to search.")
    info = get_model_info(name)
    return name, f"**{info.family.value}** · {info.paper}", info.description


def _pick_library(scope: str, source: str, start: str) -> str:
    """Family, then model (both searchable by typing); returns the `source:name` reference."""
    grouped = library_families(source)
    wanted = start.partition(":")[2] if start.startswith(source + ":") else LIBRARY_STARTS.get(source)
    family_key = f"{scope}_{source}_family"
    if family_key not in st.session_state:
        st.session_state[family_key] = ALL_FAMILIES
    family_name = st.selectbox("Family", [ALL_FAMILIES, *grouped], key=family_key,
                               help="The library module that defines the architecture. Type to search.")
    options = sorted(n for group in grouped.values() for n in group) if family_name == ALL_FAMILIES else (
        grouped[family_name])
    key = f"{scope}_{source}_{family_name}_model"
    index = options.index(wanted) if wanted in options and key not in st.session_state else 0
    name = st.selectbox("Model", options, index=index, key=key, help="Type to search.")
    return f"{source}:{name}"


def _option_entry(option: Option, key: str) -> tuple[Any, str | None]:
    """One builder option's field: its value and, when it cannot be used, why (with what is allowed)."""
    label = option.name.replace("_", " ")
    if option.kind is OptionKind.BOOL:
        return st.toggle(label, value=bool(option.default), key=key, help=option.help or None), None
    if option.kind is OptionKind.CHOICE:
        choices = list(option.choices)
        index = choices.index(option.default) if option.default in choices else 0
        return st.selectbox(label, choices, index=index, key=key, help=option.help or None), None
    text = st.text_input(label, value=f"{option.default:g}" if isinstance(option.default, float) else str(
        option.default), key=key, help=f"{option.help} ({option.allowed()})".strip())
    if option.kind is OptionKind.INT:
        entry = parse_whole_number(label, text, int(option.minimum or 0), int(option.maximum or 0))
        return entry.value, entry.problem
    value = decimal_number(text.strip())  # the engine's one reading: ASCII decimals ('٣' and 'inf' refused)
    if value is None:
        return None, f"{label} = '{text.strip()[:40]}' is not a number ({option.allowed()})"
    if not (option.minimum or 0) <= value <= (option.maximum or 0):
        return None, f"{label} = {value:g} is out of range ({option.allowed()})"
    return value, None


def _builder_options(scope: str, name: str) -> tuple[dict[str, Any], list[str]]:
    """The zoo model's typed, bounded builder options (its defaults left implicit) and the fields' problems."""
    settable = [o for o in get_model_info(name).options if o.kind is not None and o.name != "resolution"]
    options: dict[str, Any] = {}
    problems: list[str] = []
    if settable:
        with st.expander("Builder options", expanded=False):
            for option in settable:
                value, problem = _option_entry(option, key=f"{scope}_{name}_{option.name}")
                if problem:
                    problems.append(problem)
                elif value != option.default:
                    options[option.name] = value
    return options, problems


def _size_fields(scope: str, name: str, size: tuple[int, ...]) -> list[Entry]:
    """H, W and C (and T for a clip) as the seeds write a volume; keys carry the default so a new default
    (another EfficientNet φ) shows its own size."""
    labels = ("C", "T", "H", "W") if len(size) == 4 else ("C", "H", "W")
    defaults = dict(zip(labels, size))
    order = [label for label in ("T", "H", "W", "C") if label in defaults]
    columns = st.columns(len(order))
    words = {"H": "height", "W": "width", "C": "channels", "T": "frames"}
    return [whole_number_input(label, default=defaults[label], low=1, high=MAX_SIDE, container=column,
                               key=f"{scope}_{name}_{defaults[label]}_{label.lower()}",
                               help=f"Input {words[label]}, 1 to {MAX_SIDE:,}")
            for label, column in zip(order, columns)]  # fmt: skip


@dataclass(frozen=True)
class PickedName:
    """A model picked by source and name: a zoo name or a library reference, with what to say about it."""

    name: str
    source: str
    caption: str  # family and paper, as Markdown
    description: str = ""


def pick_name(scope: str, *, address: bool = True) -> PickedName:
    """Source, family and model (searchable); with `address`, `?model=` names the choice, to share or bookmark."""
    start = start_model(address)
    if address:
        _follow_the_address(scope, start)
    source = pick_source(scope, start)
    if source == ZOO:
        name, caption, description = _pick_zoo(scope, start)
        picked = PickedName(name, source, caption, description)
    else:
        from explorer.catalogue import Catalogue, family

        name = _pick_library(scope, source, start)
        picked = PickedName(name, source, f"**{source}** · family {family(Catalogue(source), name.partition(':')[2])}"
                                          " · built from the library's own definition, without weights")
    if address and st.query_params.get("model") != picked.name:
        st.query_params["model"] = picked.name
    st.session_state[f"{scope}_picked"] = picked.name
    return picked


def _follow_the_address(scope: str, wanted: str) -> None:
    """A link that names another model than the one picked in this session (the Catalogue's "open on the
    Architecture page") moves the pickers to it."""
    last = st.session_state.get(f"{scope}_picked")
    if last is None or wanted == last:
        return
    source, _, library_name = wanted.partition(":")
    if not library_name:
        st.session_state.update({f"{scope}_source": ZOO, f"{scope}_family": ALL_FAMILIES, f"{scope}_model": wanted})
        return
    if not any(library_name in group for group in library_families(source).values()):
        return
    st.session_state.update({f"{scope}_source": source, f"{scope}_{source}_family": ALL_FAMILIES,
                             f"{scope}_{source}_{ALL_FAMILIES}_model": library_name})


def default_size(picked: PickedName, options: dict[str, Any]) -> tuple[int, ...] | None:
    """The input the model's source gives it: the zoo's (for these builder options) or the library's."""
    if picked.source == ZOO:
        return tuple(get_model_info(picked.name).default_input(**options))
    return library_default_size(library_model(picked.name))


def pick_model(scope: str = "arch") -> ModelChoice:
    """The sidebar controls; returns the chosen model and the analysis request they describe."""
    picked = pick_name(scope)
    name = picked.name
    options, problems = _builder_options(scope, name) if picked.source == ZOO else ({}, [])
    try:
        size = default_size(picked, options)
    except UserError as exc:  # an option the builder refuses, a library model that cannot be built: said
        if picked.source != ZOO:
            return ModelChoice(name, picked.source, ModelRequest.of(name, None), picked.caption, problem=str(exc))
        problems.append(str(exc))
        size = tuple(get_model_info(name).default_input())

    entries: list[Entry] = []
    if size is not None:
        st.caption(f"Input ({'T×' if len(size) == 4 else ''}H×W×C) and batch · allowed: {RANGE_TEXT}")
        entries = _size_fields(scope, name, size)
    batch = whole_number_input("Batch", default=1, low=1, high=MAX_BATCH, key=f"{scope}_batch",
                               help=f"Images per forward, 1 to {MAX_BATCH:,}")
    dtype = st.selectbox("Precision", list(DTYPES), format_func=DTYPES.get, key=f"{scope}_dtype", help=DTYPE_HELP)
    problem = entry_problems(*entries, batch)
    if problems:
        problem = "; ".join(problems) + (f"; {problem}" if problem else ". Nothing is analysed until it is.")
    by_label = {e.label: e.value for e in entries}
    if size is not None and problem is None:
        size = (by_label["C"], *((by_label["T"],) if "T" in by_label else ()), by_label["H"], by_label["W"])
    request = ModelRequest.of(name, size if problem is None else None, batch.value or 1, dtype=dtype, **options)
    return ModelChoice(name, picked.source, request, picked.caption, picked.description, problem)
