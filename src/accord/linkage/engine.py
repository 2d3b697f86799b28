"""The linkage core: sources in, scored pairs and clusters out. Knows nothing of the trust.

    prepare each source ─▶ settings from roles ─▶ count blocking ─▶ train (u: random sampling,
    m: EM or labelled pairs) ─▶ predict ─▶ constrained clustering

Examples:
    >>> sources = [LinkSource("a/pupils", c1, t1), LinkSource("b/residents", c2, t2)]
    >>> result = link(sources)  # doctest: +SKIP
    >>> result.clusters.sizes()  # doctest: +SKIP
    {1: 1200, 2: 3800}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.catalogue.contract import Role
from accord.errors import InvalidInput
from accord.linkage import absence, blocking, exclusive, household
from accord.linkage.backends import make_db_api, to_arrow
from accord.linkage.clustering import Clusters, NodeRef, cluster
from accord.linkage.compact import CompactIds, compact_ids
from accord.linkage.comparisons import build_comparisons, select_templates
from accord.linkage.dialects import model_for_dialect
from accord.linkage.floors import apply_floors
from accord.linkage.names import register_name_frequencies
from accord.linkage.prepare import LINK_ROLES, Prepared, prepare, source_roles
from accord.linkage.source import LinkSource
from accord.linkage.thresholds import choose_threshold

log = logging.getLogger("accord.linkage")
Progress = Callable[[str], None]
PAIR_COLUMNS = (
    "source_dataset_l",
    "unique_id_l",
    "source_dataset_r",
    "unique_id_r",
    "match_weight",
    "match_probability",
)


@dataclass
class LinkConfig:
    """Thresholds and budgets of one linkage (probabilities of being the same person)."""

    # Pairs at or above link_threshold are linked; None chooses it from the model (the lowest
    # threshold whose expected precision meets target_precision, see thresholds.py).
    link_threshold: float | None = None
    target_precision: float = 0.995
    # Pairs from here up to the link threshold go to review. Below one half so that a tie (two
    # candidates that exclude each other, each likely alone, share to just under one half:
    # exclusive.py) reaches a reviewer instead of falling out.
    review_floor: float = 0.40
    u_max_pairs: float = 2e6
    em_max_pairs: float = 2e7  # an EM session over more candidate pairs takes a narrower rule
    # Budget of candidate pairs: rules are used in order while their running total stays under
    # this many comparisons per input record.
    max_comparisons_per_record: float = 200.0
    count_sample: float | None = None  # None: exact counts up to 200k records, else 5%
    seed: int = 42
    min_labels: int = 50  # accepted review pairs needed to train m from labels instead of EM
    prior_recall: float = 0.8
    threads: int | None = None
    memory_limit: str | None = None


@dataclass
class RuleCount:
    """A blocking rule and the comparisons it adds (before the run, Splink's counting)."""

    name: str
    sql: str
    comparisons: int
    cumulative: int
    used: bool = True
    covers: str = ""


@dataclass
class LinkResult:
    """What one linkage produced."""

    model: dict[str, Any]
    roles: list[Role]
    link_type: str
    pairs: pa.Table  # scored pairs at or above review_floor
    clusters: Clusters
    blocking: list[RuleCount]
    config: LinkConfig
    prepared: dict[str, Prepared] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    trained_from: str = "em"

    def review_pairs(self) -> pa.Table:
        """Pairs in the doubtful band (review_floor <= p < link_threshold)."""
        p = self.pairs.column("match_probability")
        import pyarrow.compute as pc

        return self.pairs.filter(pc.less(p, self.config.link_threshold))

    def comparisons_total(self) -> int:
        return sum(r.comparisons for r in self.blocking if r.used)


def link_roles(sources: Sequence[LinkSource], permitted: Iterable[Role] | None = None) -> set[Role]:
    """Roles to compare: those offered by at least two sources (or by one that may hold
    duplicates), limited to what the agreement permits."""
    counts: dict[Role, int] = {}
    for source in sources:
        for role in source_roles(source):
            counts[role] = counts.get(role, 0) + (2 if source.may_hold_duplicates else 1)
    roles = {r for r, c in counts.items() if c >= 2 or len(sources) == 1}
    if permitted is not None:
        allowed = {Role(r) for r in permitted}
        if Role.full_name in allowed:
            allowed |= {Role.given_name, Role.family_name}
        roles &= allowed
    return {r for r in roles if r in LINK_ROLES}


def link_type_for(sources: Sequence[LinkSource]) -> str:
    if len(sources) == 1:
        return "dedupe_only"
    return "link_and_dedupe" if any(s.may_hold_duplicates for s in sources) else "link_only"


def encodings_of(sources: Sequence[LinkSource], roles: set[Role]) -> dict[Role, str]:
    """The encoding each role arrives in; every source must agree to be comparable."""
    result: dict[Role, str] = {}
    for role in roles:
        seen = {s.encoding(role) for s in sources if role in source_roles(s)}
        if len(seen) > 1:
            raise InvalidInput(
                f"The sources send {role.value} in different encodings "
                f"({', '.join(sorted(seen))}); "
                "they can only be compared when every source encodes it the same way"
            )
        result[role] = seen.pop() if seen else "clear"
    return result


def build_settings(
    roles: set[Role],
    link_type: str,
    encodings: dict[Role, str] | None = None,
    rules: Sequence[blocking.BlockingTemplate] | None = None,
) -> dict[str, Any]:
    """Splink settings (as a creator dict) built from the roles present: comparisons and
    blocking rules from the registries, never by hand per dataset."""
    from splink import SettingsCreator

    comparisons = build_comparisons(roles, encodings)
    if not comparisons:
        raise InvalidInput(
            "Nothing to compare: the sources share no identifier role the agreement permits "
            f"(roles present: {', '.join(sorted(r.value for r in roles)) or 'none'})"
        )
    rules = (
        list(rules)
        if rules is not None
        else blocking.select(blocking.REGISTRY, _clear(roles, encodings))
    )
    if not rules:
        raise InvalidInput(
            "No blocking rule fits the identifier roles present; linkage needs at "
            "least a date of birth, a postcode, an NHS number or an e-mail in common"
        )
    return {
        "creator": SettingsCreator(
            link_type=link_type,
            comparisons=comparisons,
            blocking_rules_to_generate_predictions=[r.creator() for r in rules],
            retain_intermediate_calculation_columns=True,
            retain_matching_columns=True,
            max_iterations=20,
            em_convergence=0.001,
        ),
        "rules": rules,
    }


def _clear(roles: set[Role], encodings: dict[Role, str] | None) -> set[Role]:
    encodings = encodings or {}
    return {r for r in roles if encodings.get(r, "clear") == "clear"}


def link(
    sources: Sequence[LinkSource],
    *,
    roles: Iterable[Role] | None = None,
    backend: str = "duckdb",
    config: LinkConfig | None = None,
    model: dict[str, Any] | None = None,
    accepted: Sequence[tuple[NodeRef, NodeRef]] = (),
    rejected: Sequence[tuple[NodeRef, NodeRef]] = (),
    progress: Progress | None = None,
) -> LinkResult:
    """Link ``sources`` and cluster their records into people.

    ``roles`` limits the identifiers used (an agreement's permitted roles). ``model`` reuses a
    trained Splink model (settings JSON) instead of training. ``accepted``/``rejected`` are
    review decisions: forced links and cannot-links, and accepted pairs train m when plenty.
    """
    config = config or LinkConfig()
    say = progress or (lambda message: log.info(message))
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if not sources:
        raise InvalidInput("Nothing to link: no datasets given")
    chosen = link_roles(sources, roles)
    encodings = encodings_of(sources, chosen)
    link_type = link_type_for(sources)

    say(f"Preparing {len(sources)} sources")
    con = duckdb.connect()
    prepared = {s.ref: prepare(s, chosen, con) for s in sources}
    con.close()
    timings["prepare"] = time.perf_counter() - clock

    linker, db_api, rules = _linker(prepared, chosen, encodings, link_type, backend, config, model)
    n_records = sum(p.table.num_rows for p in prepared.values())

    clock = time.perf_counter()
    if model is None:
        say("Counting comparisons per blocking rule")
        counts = count_rules(linker, rules, n_records, config)
    else:  # a given model brings the rules its own run counted and kept
        counts = [RuleCount(r.name, "", -1, -1, True, r.covers) for r in rules]
    timings["count"] = time.perf_counter() - clock
    kept = [r for r, c in zip(rules, counts, strict=True) if c.used]
    if len(kept) != len(rules):
        dropped = [c.name for c in counts if not c.used]
        say(f"Leaving out blocking rules that would explode: {', '.join(dropped)}")
        linker, db_api, _ = _linker(
            prepared, chosen, encodings, link_type, backend, config, model, kept, db_api
        )
    # Name frequencies counted over both name fields (names.py: a surname in the given-name
    # field is not a rare given name).
    register_name_frequencies(linker, db_api, [p.table for p in prepared.values()])

    trained_from = "given model"
    household_weights: dict[str, float] = {}
    if model is None:
        clock = time.perf_counter()
        trained_from = train(linker, chosen, config, accepted, say)
        apply_floors(linker)
        say("Measuring households in duplicate-free sources")
        measured = time.perf_counter()
        found = household.measure(
            [prepared[s.ref].table for s in sources if not s.may_hold_duplicates], chosen
        )
        household_weights = household.apply(linker, found)
        timings["train"] = time.perf_counter() - clock
        timings["household_measure"] = time.perf_counter() - measured  # part of "train"

    say("Scoring candidate pairs")
    clock = time.perf_counter()
    scorer, packed = _scoring_linker(linker, db_api, prepared, backend)
    predictions = scorer.inference.predict(
        threshold_match_probability=min(config.review_floor, household.ASSOCIATION_FLOOR),
        warning_mode="never",
    )
    pairs = _pair_columns(predictions)
    timings["predict"] = time.perf_counter() - clock
    # Households that moved together, then candidates that exclude each other (household.py,
    # exclusive.py); pairs below the review floor are dropped after both. On compact ids
    # where the run has them (compact.py), restored once the pairs are few.
    clock = time.perf_counter()
    free = [s.ref for s in sources if not s.may_hold_duplicates]
    if packed is not None:
        pairs = _canonical_pairs(pairs, ids=pa.int64())  # the compact ranks as integers
        tables = packed.numbered_tables()
        free = [packed.code_of(ref) for ref in free]
    else:
        pairs = _canonical_pairs(pairs)
        tables = [p.table for p in prepared.values()]
    scoring_model = linker.misc.save_model_to_json()
    scoring_model["accord"] = {
        "roles": sorted(r.value for r in chosen),
        "encodings": {r.value: e for r, e in encodings.items()},
        "rules": [r.name for r in kept],
    }
    scoring_model = model_for_dialect(scoring_model, "duckdb")
    scored = pairs
    pairs, _ = household.associate(pairs, tables, scoring_model)
    # Whether each record's household is still at its address in the other source
    # (absence.py), measured on this run's data; pairs scored again above are left alone.
    measured = time.perf_counter()
    pairs, absence_weights = absence.apply(pairs, tables, unchanged_from=scored)
    timings["absence"] = time.perf_counter() - measured  # part of "association"
    timings["association"] = time.perf_counter() - clock  # part of "associate"
    pairs = exclusive.share(pairs, free)
    pairs = pairs.filter(pc.greater_equal(pairs.column("match_probability"), config.review_floor))
    if config.link_threshold is None:
        chosen_threshold = choose_threshold(pairs, config.target_precision)
        say(f"Link threshold {chosen_threshold:.3f} (expected precision {config.target_precision})")
        config = replace(config, link_threshold=chosen_threshold)
    if packed is not None:
        pairs = _canonical_pairs(packed.restore(pairs))
        absence_weights = absence.renamed(absence_weights, packed.ref_of)
    timings["associate"] = time.perf_counter() - clock

    say("Clustering into people")
    clock = time.perf_counter()
    nodes = pa.concat_tables(
        [p.table.select(["source_dataset", "unique_id"]) for p in prepared.values()]
    )
    clusters = cluster(
        nodes,
        pairs,
        threshold=config.link_threshold,
        duplicate_free=[s.ref for s in sources if not s.may_hold_duplicates],
        accepted=accepted,
        rejected=rejected,
    )
    timings["cluster"] = time.perf_counter() - clock
    saved = linker.misc.save_model_to_json()
    saved["accord"] = {
        "roles": sorted(r.value for r in chosen),
        "encodings": {r.value: e for r, e in encodings.items()},
        "rules": [r.name for r in kept],
        "link_threshold": config.link_threshold,
        "review_floor": config.review_floor,
        "household_weights": household_weights,
        "absence_weights": absence_weights,
    }
    # Saved in DuckDB's dialect whatever trained it: explanations and incremental matching
    # score single pairs on DuckDB.
    saved = model_for_dialect(saved, "duckdb")
    return LinkResult(
        model=saved,
        roles=sorted(chosen, key=lambda r: r.value),
        link_type=link_type,
        pairs=pairs,
        clusters=clusters,
        blocking=counts,
        config=config,
        prepared=prepared,
        timings=timings,
        trained_from=trained_from,
    )


def _linker(
    prepared: dict[str, Prepared],
    roles: set[Role],
    encodings: dict[Role, str],
    link_type: str,
    backend: str,
    config: LinkConfig,
    model: dict[str, Any] | None,
    rules: Sequence[blocking.BlockingTemplate] | None = None,
    db_api: Any = None,
) -> tuple[Any, Any, list[blocking.BlockingTemplate]]:
    from splink import Linker

    if db_api is None:
        db_api = make_db_api(backend, memory_limit=config.memory_limit, threads=config.threads)
        frames = [
            db_api.register(p.table, dataset_display_name=_table_name(ref))
            for ref, p in prepared.items()
        ]
        db_api._accord_frames = frames
    frames = db_api._accord_frames
    if model is not None:
        dialect = db_api.sql_dialect.sql_dialect_str
        settings = {k: v for k, v in model_for_dialect(model, dialect).items() if k != "accord"}
        if rules is not None:
            settings["blocking_rules_to_generate_predictions"] = [
                r.creator().get_blocking_rule(db_api.sql_dialect.sql_dialect_str).as_dict()
                for r in rules
            ]
        names = (model.get("accord") or {}).get("rules")
        chosen = [r for r in blocking.REGISTRY if names is None or r.name in names]
        if rules is not None:
            chosen = list(rules)
        return (
            Linker(frames if len(frames) > 1 else frames[0], settings, log_level=None),
            db_api,
            chosen,
        )
    built = build_settings(roles, link_type, encodings, rules)
    linker = Linker(frames if len(frames) > 1 else frames[0], built["creator"], log_level=None)
    return linker, db_api, built["rules"]


def _scoring_linker(
    linker: Any, db_api: Any, prepared: dict[str, Prepared], backend: str
) -> tuple[Any, CompactIds | None]:
    """The trained model over the records with compact ids (compact.py: the same pairs with a
    third of the memory), or the training linker itself when ids cannot be compacted."""
    if backend != "duckdb":
        return linker, None
    packed = compact_ids({ref: p.table for ref, p in prepared.items()})
    if packed is None:
        return linker, None
    from splink import Linker

    frames = [
        db_api.register(table, dataset_display_name="c_" + _table_name(ref))
        for ref, table in packed.tables.items()
    ]
    settings = linker.misc.save_model_to_json()
    return Linker(frames if len(frames) > 1 else frames[0], settings, log_level=None), packed


def _pair_columns(predictions: Any) -> pa.Table:
    """The scored pairs' PAIR_COLUMNS as Arrow. On DuckDB only those columns are read (the
    table Splink made also holds every compared value and partial weight) and the table is
    dropped afterwards, giving its memory back to the steps that follow."""
    db_api = predictions.db_api
    if db_api.sql_dialect.sql_dialect_str != "duckdb":
        return to_arrow(predictions).select(list(PAIR_COLUMNS))
    con = db_api.duckdb_con
    columns = ", ".join(PAIR_COLUMNS)
    pairs = con.sql(f"SELECT {columns} FROM {predictions.physical_name}").to_arrow_table()
    predictions.drop_table_from_database_and_remove_from_cache()
    return pairs


def _table_name(ref: str) -> str:
    return "src_" + "".join(c if c.isalnum() else "_" for c in ref)


def count_rules(
    linker: Any, rules: Sequence[blocking.BlockingTemplate], n_records: int, config: LinkConfig
) -> list[RuleCount]:
    """Comparisons each blocking rule adds (marginal) and the running total, via Splink."""
    sample = config.count_sample
    if sample is None:
        sample = 1.0 if n_records <= 200_000 else 0.05
    records = linker.blocking_analysis.count_comparisons_from_blocking_rules(
        [r.creator() for r in rules], record_sample_proportion=sample
    )
    budget = config.max_comparisons_per_record * max(n_records, 1)
    result = []
    total = 0
    for rule, record in zip(rules, records, strict=True):
        marginal = int(record["marginal_comparison_count"])  # Splink scales samples up
        # Rules come most specific first; a broad one is used only while the running total of
        # comparisons stays within the budget.
        used = total + marginal <= budget
        total += marginal if used else 0
        result.append(
            RuleCount(rule.name, record["blocking_rule"], marginal, total, used, rule.covers)
        )
    return result


def train(
    linker: Any,
    roles: set[Role],
    config: LinkConfig,
    accepted: Sequence[tuple[NodeRef, NodeRef]],
    say: Progress,
) -> str:
    """Estimate the model: prior from deterministic rules, u by random sampling, m by EM over
    several blocking rules (or from labelled pairs when the review queue has enough)."""
    deterministic = [r.creator() for r in blocking.select(blocking.DETERMINISTIC, roles)]
    if deterministic:
        say("Estimating the prior from deterministic rules")
        linker.training.estimate_probability_two_random_records_match(
            deterministic, recall=config.prior_recall
        )
    say("Estimating u probabilities by random sampling")
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
    if len(accepted) >= config.min_labels:
        say(f"Estimating m probabilities from {len(accepted)} reviewed pairs")
        labels = pa.table(
            {
                "source_dataset_l": [a[0] for a, _ in accepted],
                "unique_id_l": [a[1] for a, _ in accepted],
                "source_dataset_r": [b[0] for _, b in accepted],
                "unique_id_r": [b[1] for _, b in accepted],
            }
        )
        frame = linker.table_management.register_table(labels, "__accord_labels", overwrite=True)
        linker.training.estimate_m_from_pairwise_labels(frame)
        return "labels"
    budget = config.em_max_pairs
    for options in blocking.training_sessions(roles):
        rule = options[-1]
        for option in options[:-1]:
            found = linker.blocking_analysis.count_comparisons_from_blocking_rules(
                [option.creator()], record_sample_proportion=1.0
            )[0]["marginal_comparison_count"]
            if found <= budget:
                rule = option
                break
        say(f"EM training blocked on {rule.name.removeprefix('em:')}")
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule.creator(), estimate_without_term_frequencies=True
        )
    return "em"


def _canonical_pairs(pairs: pa.Table, ids: pa.DataType | None = None) -> pa.Table:
    """Cast ids to string (or ``ids``) so DuckDB and Spark output compare equal."""
    ids = ids or pa.string()
    return pa.table(
        {
            "source_dataset_l": pairs.column("source_dataset_l").cast(pa.string()),
            "unique_id_l": pairs.column("unique_id_l").cast(ids),
            "source_dataset_r": pairs.column("source_dataset_r").cast(pa.string()),
            "unique_id_r": pairs.column("unique_id_r").cast(ids),
            "match_weight": pairs.column("match_weight").cast(pa.float64()),
            "match_probability": pairs.column("match_probability").cast(pa.float64()),
        }
    )


__all__ = [
    "LinkConfig",
    "LinkResult",
    "RuleCount",
    "build_settings",
    "link",
    "link_roles",
    "select_templates",
]
