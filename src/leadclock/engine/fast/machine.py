"""The engine's handlers (engine/core.py) run on all leads at once, one event per lead per step.

Step k applies the k-th event (in `event_order`) of every lead that has one; a lead's state is a
row of numpy arrays and every clock a row of an append-only table. Nothing in the handlers'
control flow depends on a deadline or an outcome (they only ask "is a clock of this stage still
running?"), so deadlines, outcomes, maximums and business time are computed afterwards, in bulk,
from (start, stop, cancelled) exactly as `_stop` and the final `advance` decide them:

    stopped: cancelled if asked and not late, breached if late (stop > due), met otherwise
    running: breached if as_of > due, open otherwise; exceeded_max likewise against max_at

What this port does not model sends the lead to the reference engine instead (`complex`): a clock
started while one of the same stage is still running (the reference would then keep two running),
and values the reference itself would choke on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from leadclock.engine.events import DECISIONS, INBOUND, REACHED
from leadclock.engine.fast.parse import TYPE_CODE
from leadclock.engine.rules import CadenceRule, Rules, StageRule

STAGES = ("assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance",
          "follow_up")
ASSIGNMENT, FIRST_CONTACT, CADENCE, QUALIFICATION, HANDOFF, ACCEPTANCE, FOLLOW_UP = range(7)

# Lead statuses (state.status); the names are what leads.csv shows.
STATUS_NAMES = ("new", "assigned", "working", "qualified", "handed_off", "accepted", "opportunity",
                "won", "lost", "disqualified", "nurture", "recycled", "garbage", "unreachable")
S = {name: code for code, name in enumerate(STATUS_NAMES)}
# lead.status values as events give them (in_progress only sets "working").
EVENT_STATUSES = ("qualified", "disqualified", "nurture", "recycled", "garbage", "unreachable",
                  "in_progress")
CHANNEL_NAMES = ("call", "email", "sms", "meeting", "social")
OUTCOME_NAMES = ("connected", "voicemail", "no_answer", "wrong_number", "busy", "sent", "bounced",
                 "replied", "booked", "held", "no_show", "other")

# Reason templates: the strings core.py writes when it stops a clock.
(R_NONE, R_ASSIGNED_TO, R_REASSIGNED, R_ACT_FC, R_REACHED, R_ATTEMPTS, R_FIRST_AE, R_FU_ACT,
 R_DECISION, R_DECIDED, R_DEC_CONTACT, R_DEC_ASSIGN, R_STATUS, R_NURTURE, R_CLOSED, R_HO_QUAL,
 R_HANDED, R_HANDED_TO, R_ACCEPTED_BY, R_REJECTED, R_OPP, R_DEAL) = range(22)

NONE = -1  # no owner / no rep
EMPTY = 0  # name code of "" (an owner core.py can set: `_accept(..., rep or ... or "")`)


@dataclass
class RuleInfo:
    calendar: str
    target: Any  # Duration (the window for a cadence)
    max: Any  # Duration | None
    text: str  # Clock.target
    required: int = 0  # cadence: min attempts


@dataclass
class Machine:
    """The result: per-lead state (index = lead code) and the clock table."""

    leads: list[str]
    names: list[str]  # rep/owner names by code (code 0 is "")
    reasons: list[str]  # free-text reasons by code
    rules: list[RuleInfo]
    source: np.ndarray
    sources: list[str]
    tier: np.ndarray
    tiers: list[str]
    status: np.ndarray
    owner: np.ndarray
    complex: np.ndarray
    clocks: dict[str, np.ndarray]


class _Codes:
    """Strings to dense int codes, through a polars lookup (no per-row Python)."""

    def __init__(self, first: list[str]) -> None:
        self.values: list[str] = list(first)
        self.index = {v: i for i, v in enumerate(self.values)}

    def encode(self, column: pl.Series) -> np.ndarray:
        column = column.cast(pl.String)
        for value in column.drop_nulls().unique().to_list():
            if value not in self.index:
                self.index[value] = len(self.values)
                self.values.append(value)
        return (column.replace_strict(self.index, default=NONE, return_dtype=pl.Int32)
                .fill_null(NONE).to_numpy())


class Engine:
    def __init__(self, rules: Rules, ev: pl.DataFrame, leads: list[str]) -> None:
        self.rules = rules
        policy = rules.policy
        n_leads = len(leads)
        self.leads = leads
        n = ev.height
        self.lead = ev.get_column("lc").to_numpy().astype(np.int32)
        self.etype = ev.get_column("type").to_numpy().astype(np.int8)
        self.at = ev.get_column("at").to_numpy()
        self.names = _Codes([""])
        self.erep = self.names.encode(ev.get_column("rep"))
        self.efrm = self.names.encode(ev.get_column("frm"))
        self.eto = self.names.encode(ev.get_column("to"))
        self.reason_codes = _Codes([""])
        self.ereason = self.reason_codes.encode(ev.get_column("reason").cast(pl.String)
                                                .fill_null(""))
        self.ech = _enum_codes(ev.get_column("channel"), CHANNEL_NAMES)
        self.eout = _enum_codes(ev.get_column("outcome"), OUTCOME_NAMES)
        self.est = _enum_codes(ev.get_column("status"), EVENT_STATUSES)
        self.ewon = ev.get_column("won").fill_null(False).to_numpy()
        self.complete = _complete(ev, rules)
        # Tiers: the policy's, in order; -1 is "no tier".
        self.tiers = list(policy.tiers)
        tier_index = {t: i for i, t in enumerate(self.tiers)}
        self.eupd_tier = (ev.get_column("tier").cast(pl.String).replace_strict(tier_index, default=NONE,
                                                               return_dtype=pl.Int32)
                          .fill_null(NONE).to_numpy())
        # Per lead: the first lead.created decides source and tier (core._on_created).
        created = ev.filter(pl.col("type") == TYPE_CODE["lead.created"]).unique(
            "lc", keep="first", maintain_order=True)
        created = created.with_columns(pl.col("source", "tier").cast(pl.String))
        self.sources = sorted(created.get_column("source").unique().to_list())
        source_index = {s: i for i, s in enumerate(self.sources)}
        self.source = np.full(n_leads, NONE, dtype=np.int64)
        lc = created.get_column("lc").to_numpy()
        self.source[lc] = created.get_column("source").replace_strict(
            source_index, return_dtype=pl.Int64).to_numpy()
        self.tier = np.full(n_leads, NONE, dtype=np.int64)
        combos = created.select("source", "tier", "score").unique()
        start_tier: dict[tuple[Any, Any, Any], int] = {}
        for src, given, score in combos.iter_rows():
            score_tier = given if given in policy.tiers else rules.tier_for_score(score)
            tier = policy.effective_tier(score_tier, src) or score_tier
            start_tier[(src, given, score)] = tier_index[tier] if tier is not None else NONE
        self.tier[lc] = _map_combos(created, start_tier)
        self.complex = np.zeros(n_leads, dtype=bool)
        exotic = ev.get_column("exotic").fill_null(False).to_numpy()
        self.complex[self.lead[exotic]] = True
        # Rules as tables over (source, tier + 1).
        self.rule_list: list[RuleInfo] = []
        self._rule_ids: dict[Any, int] = {}
        self.table = {
            stage: self._stage_table(stage) for stage in
            (ASSIGNMENT, FIRST_CONTACT, CADENCE, QUALIFICATION, HANDOFF, ACCEPTANCE)
        }
        self.fu_table = {kind: self._follow_table(kind) for kind in ("qualified", "nurture")}
        self.required = np.array([r.required for r in self.rule_list] or [0], dtype=np.int64)
        # Lead state.
        self.status = np.full(n_leads, S["new"], dtype=np.int64)
        self.owner = np.full(n_leads, NONE, dtype=np.int64)
        self.first_contact = np.zeros(n_leads, dtype=bool)
        self.reached = np.zeros(n_leads, dtype=bool)
        self.meeting = np.zeros(n_leads, dtype=bool)
        self.hto = np.full(n_leads, NONE, dtype=np.int64)
        self.hfrom = np.full(n_leads, NONE, dtype=np.int64)
        self.slot = np.full((7, n_leads), -1, dtype=np.int64)
        self.count = np.zeros((7, n_leads), dtype=np.int64)
        self.cad_attempts = np.zeros(n_leads, dtype=np.int64)
        self.cad_required = np.zeros(n_leads, dtype=np.int64)
        # Clock table, grown as needed.
        self.n_clocks = 0
        cap = max(16, 6 * n_leads)
        self.c = {
            "lead": np.empty(cap, np.int64), "stage": np.empty(cap, np.int8),
            "seq": np.empty(cap, np.int64), "owner": np.empty(cap, np.int64),
            "start": np.empty(cap, np.int64), "stop": np.empty(cap, np.int64),
            "stopped": np.empty(cap, bool), "cancel": np.empty(cap, bool),
            "rule": np.empty(cap, np.int64), "order": np.empty(cap, np.int64),
            "tpl": np.empty(cap, np.int8), "ra": np.empty(cap, np.int64),
            "rb": np.empty(cap, np.int64), "rc": np.empty(cap, np.int64),
        }
        self.n_events = n

    # ------------------------------------------------------------------ rules

    def _rule(self, key: Any, make: Any) -> int:
        if key not in self._rule_ids:
            self._rule_ids[key] = len(self.rule_list)
            self.rule_list.append(make())
        return self._rule_ids[key]

    def _stage_table(self, stage: int) -> np.ndarray:
        name = STAGES[stage]
        out = np.full((max(1, len(self.sources)), len(self.tiers) + 1), NONE, dtype=np.int64)
        for si, src in enumerate(self.sources):
            for ti, tier in enumerate([None, *self.tiers]):
                rule = self.rules.stage(name, src, tier)
                if stage == CADENCE and isinstance(rule, CadenceRule):
                    r = rule
                    out[si, ti] = self._rule(("cadence", r), lambda r=r: RuleInfo(
                        r.calendar, r.window, None, f"{r.min_attempts} in {r.window}",
                        r.min_attempts))
                elif stage != CADENCE and isinstance(rule, StageRule):
                    r2 = rule
                    out[si, ti] = self._rule(("stage", r2), lambda r=r2: RuleInfo(
                        r.calendar, r.target, r.max, str(r.target)))
        return out

    def _follow_table(self, kind: str) -> np.ndarray:
        out = np.full((max(1, len(self.sources)), len(self.tiers) + 1), NONE, dtype=np.int64)
        for si, src in enumerate(self.sources):
            for ti, tier in enumerate([None, *self.tiers]):
                rule = self.rules.follow_up(kind, src, tier)
                if rule is None:
                    continue
                target = rule.every_max or rule.every
                # core._start_follow_up builds StageRule("follow_up", target, max_idle, calendar)
                key = ("follow", str(target), target.kind, target.amount,
                       None if rule.max_idle is None else (rule.max_idle.kind, rule.max_idle.amount),
                       rule.calendar)
                out[si, ti] = self._rule(key, lambda t=target, r=rule: RuleInfo(
                    r.calendar, t, r.max_idle, str(t)))
        return out

    def _lookup(self, table: np.ndarray, ld: np.ndarray) -> np.ndarray:
        return table[self.source[ld], self.tier[ld] + 1]

    # ------------------------------------------------------------------ clocks

    def _alloc(self, n: int) -> np.ndarray:
        need = self.n_clocks + n
        cap = len(self.c["lead"])
        if need > cap:
            new = max(need, int(cap * 1.5))
            for key, arr in self.c.items():
                grown = np.empty(new, dtype=arr.dtype)
                grown[:self.n_clocks] = arr[:self.n_clocks]
                self.c[key] = grown
        idx = np.arange(self.n_clocks, need)
        self.n_clocks = need
        return idx

    def start(self, stage: int, ld: np.ndarray, at: np.ndarray, rule: np.ndarray,
              owner: np.ndarray, k: int, sub: int) -> tuple[np.ndarray, np.ndarray]:
        m = rule >= 0
        ld, at, rule, owner = ld[m], at[m], rule[m], owner[m]
        if not len(ld):
            return ld, ld
        busy = self.slot[stage, ld] >= 0
        if busy.any():  # the reference would keep two clocks of this stage running
            self.complex[ld[busy]] = True
        idx = self._alloc(len(ld))
        c = self.c
        c["lead"][idx] = ld
        c["stage"][idx] = stage
        c["seq"][idx] = self.count[stage, ld]
        self.count[stage, ld] += 1
        c["owner"][idx] = owner
        c["start"][idx] = at
        c["stop"][idx] = 0
        c["stopped"][idx] = False
        c["cancel"][idx] = False
        c["rule"][idx] = rule
        c["order"][idx] = k * 8 + sub
        c["tpl"][idx] = R_NONE
        c["ra"][idx] = c["rb"][idx] = c["rc"][idx] = 0
        self.slot[stage, ld] = idx
        return ld, idx

    def stop(self, stage: int, ld: np.ndarray, at: np.ndarray, tpl: int, a: Any = 0, b: Any = 0,
             c: Any = 0, cancel: bool = False) -> np.ndarray:
        ck = self.slot[stage, ld]
        m = ck >= 0
        if not m.any():
            return m
        ck = ck[m]
        t = self.c
        t["stop"][ck] = at[m]
        t["stopped"][ck] = True
        t["cancel"][ck] = cancel
        t["tpl"][ck] = tpl
        t["ra"][ck] = a[m] if isinstance(a, np.ndarray) else a
        t["rb"][ck] = b[m] if isinstance(b, np.ndarray) else b
        t["rc"][ck] = c[m] if isinstance(c, np.ndarray) else c
        self.slot[stage, ld[m]] = -1
        return m

    # ------------------------------------------------------------------ handlers

    def run(self) -> None:
        lead = self.lead
        n_leads = len(self.leads)
        if not len(lead):
            return
        starts = np.searchsorted(lead, np.arange(n_leads), side="left")
        counts = np.bincount(lead, minlength=n_leads)
        perm = np.argsort(-counts, kind="stable")
        sorted_counts = counts[perm]
        lead_starts = starts[perm]
        handlers = {
            TYPE_CODE["lead.created"]: self.on_created,
            TYPE_CODE["lead.updated"]: self.on_updated,
            TYPE_CODE["lead.assigned"]: self.on_assigned,
            TYPE_CODE["activity"]: self.on_activity,
            TYPE_CODE["lead.status"]: self.on_status,
            TYPE_CODE["handoff.requested"]: self.on_handoff_requested,
            TYPE_CODE["handoff.accepted"]: self.on_handoff_accepted,
            TYPE_CODE["handoff.rejected"]: self.on_handoff_rejected,
            TYPE_CODE["opportunity.created"]: self.on_opportunity,
            TYPE_CODE["deal.closed"]: self.on_deal,
        }
        max_count = int(sorted_counts[0])
        # Leads with more than k events form a prefix of `perm` (counts sorted descending).
        active = np.searchsorted(-sorted_counts, -np.arange(max_count), side="left")
        for k in range(max_count):
            n_k = int(active[k])
            ld_all = perm[:n_k]
            rows = lead_starts[:n_k] + k
            types = self.etype[rows].astype(np.int64)
            present = np.bincount(types, minlength=16)
            for code in np.flatnonzero(present).tolist():
                handler = handlers.get(code)
                if handler is None:
                    continue
                m = types == code
                handler(ld_all[m], rows[m], k)

    def on_created(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        if k > 0:  # a second lead.created only raises an alert
            return
        rule = self._lookup(self.table[ASSIGNMENT], ld)
        self.start(ASSIGNMENT, ld, self.at[ev], rule, np.full(len(ld), NONE), k, 0)

    def on_updated(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        tier = self.eupd_tier[ev]
        m = tier >= 0
        self.tier[ld[m]] = tier[m]

    def on_assigned(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        rep = self.erep[ev]
        prev = self.owner[ld]
        m = prev != rep
        ld, ev, rep, prev = ld[m], ev[m], rep[m], prev[m]
        at = self.at[ev]
        self.stop(ASSIGNMENT, ld, at, R_ASSIGNED_TO, rep)
        self.owner[ld] = rep
        st = self.status[ld]
        self.status[ld] = np.where(st == S["new"], S["assigned"], st)
        re = prev != NONE
        self.stop(FIRST_CONTACT, ld[re], at[re], R_REASSIGNED, prev[re], rep[re], cancel=True)
        st = self.status[ld]
        fc = ~self.first_contact[ld] & ((st == S["assigned"]) | (st == S["new"]))
        self.start(FIRST_CONTACT, ld[fc], at[fc], self._lookup(self.table[FIRST_CONTACT], ld[fc]),
                   rep[fc], k, 0)
        cad = self.slot[CADENCE, ld]
        new = (cad < 0) & (self.count[CADENCE, ld] == 0) & ~self.reached[ld]
        rule = self._lookup(self.table[CADENCE], ld[new])
        started, slots = self.start(CADENCE, ld[new], at[new], rule, rep[new], k, 1)
        if len(started):
            self.cad_attempts[started] = 0
            self.cad_required[started] = self.required[self.c["rule"][slots]]
        running = cad >= 0
        self.c["owner"][cad[running]] = rep[running]

    def on_activity(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        at, rep, ch, out = self.at[ev], self.erep[ev], self.ech[ev], self.eout[ev]
        attempt = ~np.isin(out, _OUT_INBOUND)
        reach = np.isin(out, _OUT_REACHED)
        fcm = attempt & ~self.first_contact[ld]
        if fcm.any():
            l1, a1 = ld[fcm], at[fcm]
            self.first_contact[l1] = True
            self.stop(FIRST_CONTACT, l1, a1, R_ACT_FC, ch[fcm], rep[fcm], out[fcm])
            st = self.status[l1]
            self.status[l1] = np.where((st == S["assigned"]) | (st == S["new"]), S["working"], st)
            q = self.count[QUALIFICATION, l1] == 0
            owner = self.owner[l1]
            who = np.where(owner > EMPTY, owner, rep[fcm])
            self.start(QUALIFICATION, l1[q], a1[q],
                       self._lookup(self.table[QUALIFICATION], l1[q]), who[q], k, 0)
        cad = self.slot[CADENCE, ld]
        running = cad >= 0
        self.cad_attempts[ld[running & attempt]] += 1
        self.reached[ld[reach]] = True
        r1 = running & reach
        self.stop(CADENCE, ld[r1], at[r1], R_REACHED, ch[r1], out[r1])
        r2 = running & ~reach & (self.cad_attempts[ld] >= self.cad_required[ld])
        self.stop(CADENCE, ld[r2], at[r2], R_ATTEMPTS, self.cad_attempts[ld[r2]])
        acc = (self.hto[ld] != NONE) & (rep == self.hto[ld]) & (self.status[ld] == S["handed_off"])
        if acc.any():
            self.accept(ld[acc], at[acc], rep[acc], R_FIRST_AE, rep[acc])
        fu = (self.slot[FOLLOW_UP, ld] >= 0) & attempt
        if fu.any():
            l2, a2 = ld[fu], at[fu]
            self.stop(FOLLOW_UP, l2, a2, R_FU_ACT, ch[fu], rep[fu])
            booked = (ch[fu] == _CH_MEETING) & np.isin(out[fu], _OUT_BOOKED)
            self.meeting[l2[booked]] = True
            self.follow_up(l2[~booked], a2[~booked], k, 1)

    def accept(self, ld: np.ndarray, at: np.ndarray, rep: np.ndarray, tpl: int, a: Any) -> None:
        self.stop(ACCEPTANCE, ld, at, tpl, a)
        self.status[ld] = S["accepted"]
        self.owner[ld] = np.where(rep > EMPTY, rep, self.owner[ld])  # core: `if rep and ...`

    def follow_up(self, ld: np.ndarray, at: np.ndarray, k: int, sub: int) -> None:
        nurture = self.status[ld] == S["nurture"]
        rule = np.where(nurture, self._lookup(self.fu_table["nurture"], ld),
                        self._lookup(self.fu_table["qualified"], ld))
        rule = np.where(~nurture & self.meeting[ld], NONE, rule)
        self.start(FOLLOW_UP, ld, at, rule, self.owner[ld], k, sub)

    def on_status(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        st_ev, reason, at = self.est[ev], self.ereason[ev], self.at[ev]
        ip = st_ev == _ST_IN_PROGRESS
        self.status[ld[ip]] = S["working"]
        d = ~ip
        ld, st_ev, reason, at = ld[d], st_ev[d], reason[d], at[d]
        self.stop(QUALIFICATION, ld, at, R_DECISION, st_ev, reason)
        self.stop(CADENCE, ld, at, R_DECIDED, st_ev, cancel=True)
        self.stop(FIRST_CONTACT, ld, at, R_DEC_CONTACT, st_ev, cancel=True)
        self.stop(ASSIGNMENT, ld, at, R_DEC_ASSIGN, st_ev, cancel=True)
        self.stop(FOLLOW_UP, ld, at, R_STATUS, st_ev, cancel=True)
        self.status[ld] = _EVENT_TO_STATUS[st_ev]
        q = st_ev == _ST_QUALIFIED
        if q.any():
            l1, a1 = ld[q], at[q]
            free = self.slot[HANDOFF, l1] < 0
            self.start(HANDOFF, l1[free], a1[free], self._lookup(self.table[HANDOFF], l1[free]),
                       self.owner[l1[free]], k, 0)
            self.follow_up(l1, a1, k, 1)
        nu = st_ev == _ST_NURTURE
        if nu.any():
            l2, a2 = ld[nu], at[nu]
            self.stop(HANDOFF, l2, a2, R_NURTURE, cancel=True)
            self.stop(ACCEPTANCE, l2, a2, R_NURTURE, cancel=True)
            self.follow_up(l2, a2, k, 0)
        other = ~q & ~nu
        if other.any():
            l3, a3, s3, r3 = ld[other], at[other], st_ev[other], reason[other]
            for stage in (HANDOFF, ACCEPTANCE, FOLLOW_UP):
                self.stop(stage, l3, a3, R_CLOSED, s3, r3, cancel=True)

    def on_handoff_requested(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        m = self.complete[ev]  # a refused handoff changes no clock (F14)
        ld, ev = ld[m], ev[m]
        at, frm, to = self.at[ev], self.efrm[ev], self.eto[ev]
        nq = self.status[ld] != S["qualified"]
        self.stop(QUALIFICATION, ld[nq], at[nq], R_HO_QUAL)
        self.stop(CADENCE, ld, at, R_HANDED, cancel=True)
        self.stop(HANDOFF, ld, at, R_HANDED_TO, to)
        self.status[ld] = S["handed_off"]
        self.hfrom[ld] = frm
        self.hto[ld] = to
        self.start(ACCEPTANCE, ld, at, self._lookup(self.table[ACCEPTANCE], ld), to, k, 0)

    def on_handoff_accepted(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        m = self.status[ld] == S["handed_off"]
        ld, ev = ld[m], ev[m]
        rep = self.erep[ev]
        self.accept(ld, self.at[ev], rep, R_ACCEPTED_BY, rep)

    def on_handoff_rejected(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        m = self.status[ld] == S["handed_off"]
        ld, ev = ld[m], ev[m]
        at, rep = self.at[ev], self.erep[ev]
        self.stop(ACCEPTANCE, ld, at, R_REJECTED, rep, self.ereason[ev])
        self.status[ld] = S["qualified"]
        self.hto[ld] = NONE
        hfrom = self.hfrom[ld]
        owner = np.where(hfrom > EMPTY, hfrom, self.owner[ld])
        self.start(HANDOFF, ld, at, self._lookup(self.table[HANDOFF], ld), owner, k, 0)

    def on_opportunity(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        at = self.at[ev]
        self.stop(FOLLOW_UP, ld, at, R_OPP)
        ho = self.status[ld] == S["handed_off"]
        if ho.any():
            l1 = ld[ho]
            rep = self.erep[ev[ho]]
            # event.get("rep") or state.handoff_to or state.owner or ""
            who = np.where(rep > EMPTY, rep, np.where(self.hto[l1] > EMPTY, self.hto[l1],
                           np.where(self.owner[l1] > EMPTY, self.owner[l1], EMPTY)))
            self.accept(l1, at[ho], who, R_OPP, 0)
        self.status[ld] = S["opportunity"]

    def on_deal(self, ld: np.ndarray, ev: np.ndarray, k: int) -> None:
        at = self.at[ev]
        for stage in range(7):
            self.stop(stage, ld, at, R_DEAL, cancel=True)
        self.status[ld] = np.where(self.ewon[ev], S["won"], S["lost"])

    # ------------------------------------------------------------------ result

    def result(self) -> Machine:
        n = self.n_clocks
        return Machine(
            leads=self.leads, names=self.names.values, reasons=self.reason_codes.values,
            rules=self.rule_list, source=self.source, sources=self.sources, tier=self.tier,
            tiers=self.tiers, status=self.status, owner=self.owner, complex=self.complex,
            clocks={key: arr[:n] for key, arr in self.c.items()},
        )


def _enum_codes(column: pl.Series, names: tuple[str, ...]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    return (column.cast(pl.String).replace_strict(index, default=NONE, return_dtype=pl.Int8)
            .fill_null(NONE).to_numpy())


def _complete(ev: pl.DataFrame, rules: Rules) -> np.ndarray:
    """Whether each handoff.requested carries every required field (core: F14)."""
    is_req = ev.get_column("type").to_numpy() == TYPE_CODE["handoff.requested"]
    out = np.zeros(ev.height, dtype=bool)
    if not is_req.any():
        return out
    fields = ev.get_column("fields").cast(pl.String)
    required = rules.required_fields
    verdict: dict[str | None, bool] = {}
    for text in fields.filter(pl.Series(is_req)).unique().to_list():
        given = json.loads(text) if text is not None else None
        given = given or {}  # event.get("fields") or {}
        verdict[text] = not [f for f in required if given.get(f) in (None, "", [], {})]
    values = fields.replace_strict({k: v for k, v in verdict.items() if k is not None},
                                   default=verdict.get(None, False), return_dtype=pl.Boolean)
    out[is_req] = values.to_numpy()[is_req]
    return out


def _map_combos(created: pl.DataFrame, start_tier: dict[tuple[Any, Any, Any], int]) -> np.ndarray:
    keys = pl.DataFrame(
        [{"source": s, "tier": t, "score": sc, "code": v} for (s, t, sc), v in start_tier.items()],
        schema={"source": pl.String, "tier": pl.String, "score": pl.Float64, "code": pl.Int64},
    )
    joined = created.select("source", "tier", "score").join(
        keys, on=["source", "tier", "score"], how="left", nulls_equal=True, maintain_order="left")
    return joined.get_column("code").to_numpy()


_OUT_INBOUND = np.array([OUTCOME_NAMES.index(o) for o in INBOUND])
_OUT_REACHED = np.array([OUTCOME_NAMES.index(o) for o in REACHED])
_OUT_BOOKED = np.array([OUTCOME_NAMES.index("held"), OUTCOME_NAMES.index("booked")])
_CH_MEETING = CHANNEL_NAMES.index("meeting")
_ST_IN_PROGRESS = EVENT_STATUSES.index("in_progress")
_ST_QUALIFIED = EVENT_STATUSES.index("qualified")
_ST_NURTURE = EVENT_STATUSES.index("nurture")
_EVENT_TO_STATUS = np.array([S[s] if s != "in_progress" else S["working"] for s in EVENT_STATUSES])
assert set(EVENT_STATUSES) - {"in_progress"} == set(DECISIONS)
