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
from leadclock.engine.fast.parse import (
    CHANNEL_NAMES,
    CREATED_MEMBERS,
    EVENT_STATUSES,
    OUTCOME_NAMES,
    TYPE_CODE,
)
from leadclock.engine.rules import CadenceRule, Rules, StageRule
from leadclock.scoring.tiers import tier_for

STAGES = ("assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance",
          "follow_up")
ASSIGNMENT, FIRST_CONTACT, CADENCE, QUALIFICATION, HANDOFF, ACCEPTANCE, FOLLOW_UP = range(7)

# Lead statuses (state.status); the names are what leads.csv shows.
STATUS_NAMES = ("new", "assigned", "working", "qualified", "handed_off", "accepted", "opportunity",
                "won", "lost", "disqualified", "nurture", "recycled", "garbage", "unreachable")
S = {name: code for code, name in enumerate(STATUS_NAMES)}
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

    leads: pl.Series  # lead ids by code, sorted
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


class Engine:
    def __init__(self, rules: Rules, ev: dict[str, np.ndarray], leads: pl.Series,
                 words: dict[str, list[str]], created_table: dict[str, np.ndarray] | None = None,
                 created_events: dict[int, Any] | None = None) -> None:
        """`ev`: the event columns (fast/parse.py COLUMNS) in (lead, event_order) order, `lead`
        the code of the lead in `leads`; `words`: the vocabularies' strings (names, reasons,
        sources, tiers) by code."""
        self.rules = rules
        policy = rules.policy
        n_leads = len(leads)
        self.leads = leads
        n = len(ev["lead"])
        self.lead = ev["lead"].astype(np.int32, copy=False)
        self.etype = ev["type"]
        self.at = ev["at"]
        a = ev["a"].astype(np.int64)
        b = ev["b"].astype(np.int64)
        c = ev["c"]
        # Names: code 0 is "" (an owner core.py can set), vocabulary code k is k + 1.
        self.names = ["", *words["names"]]
        self.erep = np.where(a >= 0, a + 1, NONE)  # rep, or from (handoff.requested)
        self.efrm = self.erep
        self.eto = np.where(b >= 0, b + 1, NONE)  # to (handoff.requested)
        self.reasons = ["", *words["reasons"]]
        self.ereason = np.where(b >= 0, b + 1, 0)  # reason (lead.status, handoff.rejected)
        self.ech = c
        self.est = c
        self.eout = ev["d"]
        self.ewon = c == 1
        self.complete = c == 1
        # Tiers: the policy's, in order; -1 is "no tier".
        self.tiers = list(policy.tiers)
        tier_index = {t: i for i, t in enumerate(self.tiers)}
        tier_words = words["tiers"]
        tier_map = np.array([tier_index.get(t, NONE) for t in tier_words] + [NONE],
                            dtype=np.int64)
        self.eupd_tier = np.full(n, NONE, dtype=np.int64)
        upd = (self.etype == TYPE_CODE["lead.updated"]) & (b >= 0)
        self.eupd_tier[upd] = tier_map[b[upd]]
        # Per lead: the first lead.created decides source and tier (core._on_created).
        created = np.flatnonzero(self.etype == TYPE_CODE["lead.created"])
        if len(created):
            lc_created = self.lead[created]
            created = created[np.r_[True, lc_created[1:] != lc_created[:-1]]]
        lc = self.lead[created].astype(np.int64)
        src_words = words["sources"]
        src_codes = a[created]
        used = np.flatnonzero(np.bincount(src_codes, minlength=len(src_words)))
        self.sources = sorted(src_words[k] for k in used.tolist())
        source_rank = np.full(len(src_words) + 1, NONE, dtype=np.int64)
        rank_of = {s: i for i, s in enumerate(self.sources)}
        for k in used.tolist():
            source_rank[k] = rank_of[src_words[k]]
        self.source = np.full(n_leads, NONE, dtype=np.int64)
        self.source[lc] = source_rank[src_codes]
        self.tier = np.full(n_leads, NONE, dtype=np.int64)
        self.tier[lc] = _start_tiers(rules, ev["line"][created], src_codes, b[created],
                                     ev["score"][created], src_words, tier_words, words,
                                     created_table or {}, created_events or {}, tier_index)
        self.complex = np.zeros(n_leads, dtype=bool)
        self.complex[self.lead[ev["exotic"]]] = True
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
        new = slice(int(idx[0]), int(idx[-1]) + 1)  # the new rows are contiguous
        c = self.c
        c["lead"][new] = ld
        c["stage"][new] = stage
        seq = self.count[stage, ld]
        c["seq"][new] = seq
        self.count[stage, ld] = seq + 1
        c["owner"][new] = owner
        c["start"][new] = at
        c["stop"][new] = 0
        c["stopped"][new] = False
        c["cancel"][new] = False
        c["rule"][new] = rule
        c["order"][new] = k * 8 + sub
        c["tpl"][new] = R_NONE
        c["ra"][new] = c["rb"][new] = c["rc"][new] = 0
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
        attempt = ~_IS_INBOUND[out]
        reach = _IS_REACHED[out]
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
            booked = (ch[fu] == _CH_MEETING) & _IS_BOOKED[out[fu]]
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
            leads=self.leads, names=self.names, reasons=self.reasons,
            rules=self.rule_list, source=self.source, sources=self.sources, tier=self.tier,
            tiers=self.tiers, status=self.status, owner=self.owner, complex=self.complex,
            clocks={key: arr[:n] for key, arr in self.c.items()},
        )


def _start_tiers(rules: Rules, lines: np.ndarray, src_codes: np.ndarray, given: np.ndarray,
                 scores: np.ndarray, src_words: list[str], tier_words: list[str],
                 words: dict[str, list[str]], created: dict[str, np.ndarray],
                 created_events: dict[int, Any], tier_index: dict[str, int]) -> np.ndarray:
    """rules.tiering.tier(data, source) of each lead.created (core._on_created), per distinct
    input: the score of scoring.rules._attribute_changes is a sum over the policy's plan (one
    term per attribute value) and its negative flags (from the email domain and the title on a
    canonical line), so each term is decided once per distinct value. As codes of `tier_index`
    (NONE: no tier)."""
    tiering = rules.tiering
    c = tiering.compiled
    policy = rules.policy
    n = len(lines)
    out = np.full(n, NONE, dtype=np.int64)
    if not n:
        return out

    def code(tier: str | None) -> int:
        return tier_index[tier] if tier is not None else NONE

    exact = np.zeros(n, dtype=bool)
    if created_events:
        for i, line in enumerate(lines.tolist()):
            event = created_events.get(line)
            if event is not None:
                exact[i] = True
                out[i] = code(tiering.tier(event.data, event.data["source"]))
    fast = np.flatnonzero(~exact)
    if not len(fast):
        return out
    pos = np.searchsorted(created["line"], lines[fast])
    source = src_codes[fast]
    decided = np.full(len(fast), -1, dtype=np.int64)  # index into `results`
    results: list[str | None] = []
    memo: dict[Any, int] = {}

    def decide(key: Any, make: Any) -> int:
        if key not in memo:
            memo[key] = len(results)
            results.append(make())
        return memo[key]

    # The CRM's tier (the source's priority may still be stricter).
    tier_of = np.array([t in policy.tiers for t in tier_words] + [False], dtype=bool)
    gave = tier_of[given[fast]]
    for i in np.flatnonzero(gave).tolist():
        g, src = tier_words[given[fast][i]], src_words[source[i]]
        decided[i] = decide(("given", g, src),
                            lambda g=g, src=src: policy.effective_tier(g, src) or g)
    # A score from the CRM; otherwise the attributes' points.
    score = scores[fast]
    has_score = ~gave & ~np.isnan(score)
    points = _attribute_score(c, created, pos, words)
    value = np.where(has_score, score, points)
    rest = np.flatnonzero(~gave)
    frame = pl.DataFrame({"s": source[rest], "v": value[rest]})
    distinct = frame.unique(maintain_order=True)
    codes = []
    for src_code, total in distinct.iter_rows():
        src = src_words[src_code]
        total = int(total) if float(total).is_integer() and points.dtype.kind == "i" else total
        codes.append(decide(("score", total, src), lambda t=total, s=src: tier_for(
            t, (s,) if s else (), s, c).tier))
    decided[rest] = frame.join(distinct.with_columns(k=pl.Series(codes, dtype=pl.Int64)),
                               on=["s", "v"], how="left", maintain_order="left"
                               ).get_column("k").to_numpy()
    table = np.array([code(t) for t in results], dtype=np.int64)
    out[fast] = table[decided]
    return out


def _attribute_score(c: Any, created: dict[str, np.ndarray], pos: np.ndarray,
                     words: dict[str, list[str]]) -> np.ndarray:
    """scoring.rules._attribute_changes' score of canonical lead.created lines `pos`."""
    from leadclock.scoring.rules import _attribute_points, _flags

    n = len(pos)
    ints = all(isinstance(p, int) for p in c.level_points.values()) and all(
        isinstance(p, int) for _, p in c.negative_items)
    total = np.zeros(n, dtype=np.int64 if ints else np.float64)

    def values(key: str) -> tuple[np.ndarray, list[Any]]:
        """Codes (-1: absent) and the Python values (as json.loads gives them) by code."""
        if key not in created:
            return np.full(n, -1, dtype=np.int64), []
        texts = words.get(f"attr:{key}", [])
        kind = CREATED_MEMBERS.get(key)
        py = texts if kind == "string" else [json.loads(t) for t in texts]
        return created[key][pos], py

    for key, fallback, _memo, attr in c.plan:
        code, py = values(key)
        if fallback is not None:
            code_f, py_f = values(fallback)
            offset = len(py)
            code = np.where(code >= 0, code, np.where(code_f >= 0, code_f + offset, -1))
            py = [*py, *py_f]
        used = np.flatnonzero(np.bincount(code[code >= 0], minlength=len(py)))
        pts = np.zeros(len(py) + 1, dtype=total.dtype)
        for k in used.tolist():
            hit = _attribute_points(attr, py[k], c)
            pts[k] = hit[0] if hit is not None else 0
        total += pts[code]
    # Negative flags: on a canonical line only the email's domain and the title raise them.
    d_code, d_py = values("email")
    t_code, t_py = values("title")
    pair = pl.DataFrame({"d": d_code, "t": t_code})
    distinct = pair.unique()
    neg = []
    for d, t in distinct.iter_rows():
        attrs: dict[str, Any] = {}
        if d >= 0:
            attrs["email"] = "@" + d_py[d]
        if t >= 0:
            attrs["title"] = t_py[t]
        flags = _flags(attrs, c)
        sub = 0
        for flag, points in c.negative_items:
            if flag in flags:
                sub += points
        neg.append(sub)
    total += pair.join(distinct.with_columns(p=pl.Series(neg, dtype=pl.Int64 if ints else
                                                         pl.Float64)),
                       on=["d", "t"], how="left", maintain_order="left").get_column("p").to_numpy()
    return total


_IS_INBOUND = np.array([o in INBOUND for o in OUTCOME_NAMES])
_IS_REACHED = np.array([o in REACHED for o in OUTCOME_NAMES])
_IS_BOOKED = np.array([o in ("held", "booked") for o in OUTCOME_NAMES])
_OUT_INBOUND = np.array([OUTCOME_NAMES.index(o) for o in INBOUND])
_OUT_REACHED = np.array([OUTCOME_NAMES.index(o) for o in REACHED])
_OUT_BOOKED = np.array([OUTCOME_NAMES.index("held"), OUTCOME_NAMES.index("booked")])
_CH_MEETING = CHANNEL_NAMES.index("meeting")
_ST_IN_PROGRESS = EVENT_STATUSES.index("in_progress")
_ST_QUALIFIED = EVENT_STATUSES.index("qualified")
_ST_NURTURE = EVENT_STATUSES.index("nurture")
_EVENT_TO_STATUS = np.array([S[s] if s != "in_progress" else S["working"] for s in EVENT_STATUSES])
assert set(EVENT_STATUSES) - {"in_progress"} == set(DECISIONS)
