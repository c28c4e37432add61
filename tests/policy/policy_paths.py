"""policy_paths.py - the approval path check of the b2c-authy policy.

For one relying party, walks every path through its journey to SendClaims and
reports the paths that pass no approval assertion: a claims transformation
profile that asserts authyApproved equals true, run as a step or as an
unconditional validation of a page (no precondition, no ContinueOnError).
The same profile must assert that the approval is of this account
(authyApprovedObjectId equals objectId). Nothing else counts. A call of
waitforauthyapproval or verifytoken does not:
a 200 of the wait may carry no approval (factorStatus "none"), and a reply
without authyApproved gives the REST profile's default false. Each
precondition is treated as possibly true or false; the value of a claim test
stays fixed until a step that may output the claim runs, and
ClaimsExist/ClaimEquals on one claim are kept consistent (a claim that does
not exist equals nothing, and equals at most one value).

Also here: which technical profiles may output a claim, and the "nothing else
sets authyApproved" check. Python 3 standard library only.
"""

WAIT_PATH = "/api/identity/waitforauthyapproval"
CODE_PATH = "/api/identity/verifytoken"
APPROVED = "authyApproved"
APPROVED_ACCOUNT = "authyApprovedObjectId"
ASSERT_METHOD = "AssertBooleanClaimIsEqualToValue"
ASSERT_STRINGS = "AssertStringClaimsAreEqual"


def _meta(tp):
    return {i.attrs.get("Key"): i.text for i in tp.walk("Metadata", "Item")}


def handler_of(tp):
    """The Protocol Handler of one technical profile node, or ''."""
    proto = tp.child("Protocol")
    return proto.attrs.get("Handler", "") if proto is not None else ""


class Journeys:
    """Questions about technical profiles and journeys of one loaded PolicySet."""

    def __init__(self, pset):
        self.pset = pset

    def nodes(self, ident, seen=None):
        """Every node of a technical profile, its overrides and its includes."""
        seen = set() if seen is None else seen
        if ident.lower() in seen:
            return []
        seen.add(ident.lower())
        out = []
        for node in self.pset.tp_nodes(ident):
            out.append(node)
            inc = node.child("IncludeTechnicalProfile")
            if inc is not None:
                out += self.nodes(inc.attrs.get("ReferenceId", ""), seen)
        return out

    def transformation(self, ident):
        found = self.pset.defs.get("transformation", {}).get(ident, [])
        return found[0] if found else None

    def calls(self, ident, path):
        """True if the technical profile is a REST profile calling path."""
        for node in self.nodes(ident):
            if "RestfulProvider" in handler_of(node) and \
                    _meta(node).get("ServiceUrl", "").rstrip("/").lower().endswith(path):
                return True
        return False

    def is_assertion(self, ident):
        """True if the profile asserts authyApproved == true."""
        for node in self.nodes(ident):
            for ref in node.walk("OutputClaimsTransformations", "OutputClaimsTransformation") + \
                    node.walk("InputClaimsTransformations", "InputClaimsTransformation"):
                ct = self.transformation(ref.attrs.get("ReferenceId", ""))
                if ct is None or ct.attrs.get("TransformationMethod") != ASSERT_METHOD:
                    continue
                claims = [c.attrs.get("ClaimTypeReferenceId")
                          for c in ct.walk("InputClaims", "InputClaim")]
                params = [(p.attrs.get("Id"), p.attrs.get("Value", "").lower())
                          for p in ct.walk("InputParameters", "InputParameter")]
                if claims == [APPROVED] and ("valueToCompareTo", "true") in params:
                    return True
        return False

    def binds_account(self, ident):
        """True if the profile asserts authyApprovedObjectId == objectId."""
        for node in self.nodes(ident):
            for ref in node.walk("OutputClaimsTransformations", "OutputClaimsTransformation") + \
                    node.walk("InputClaimsTransformations", "InputClaimsTransformation"):
                ct = self.transformation(ref.attrs.get("ReferenceId", ""))
                if ct is None or ct.attrs.get("TransformationMethod") != ASSERT_STRINGS:
                    continue
                claims = {c.attrs.get("ClaimTypeReferenceId")
                          for c in ct.walk("InputClaims", "InputClaim")}
                params = [(p.attrs.get("Id"), p.attrs.get("Value", "").lower())
                          for p in ct.walk("InputParameters", "InputParameter")]
                if claims == {APPROVED_ACCOUNT, "objectId"} and \
                        params in ([("stringComparison", "ordinal")],
                                   [("stringComparison", "ordinalignorecase")]):
                    return True
        return False

    def validations(self, ident):
        """(reference, unconditional) for the validation profiles of a profile."""
        out = []
        for node in self.nodes(ident):
            for v in node.walk("ValidationTechnicalProfiles", "ValidationTechnicalProfile"):
                uncond = not v.walk("Preconditions", "Precondition") and \
                    v.attrs.get("ContinueOnError", "false").lower() != "true"
                out.append((v.attrs.get("ReferenceId", ""), uncond))
        return out

    def approves(self, ident, depth=0):
        """True if running this profile to its end means that authyApproved
        was asserted true for this account: it is the assertion (of both), or
        a page that runs it as an unconditional validation. A call of the wait
        or verifytoken alone is no approval: its 200 may carry none."""
        if depth > 8:
            return False
        if self.is_assertion(ident) and self.binds_account(ident):
            return True
        return any(uncond and self.approves(ref, depth + 1)
                   for ref, uncond in self.validations(ident))

    def asks_responder(self, ident, depth=0):
        """True if the profile, or any of its validation profiles (with or
        without a precondition), calls the wait or verifytoken."""
        if depth > 8:
            return False
        if self.calls(ident, WAIT_PATH) or self.calls(ident, CODE_PATH):
            return True
        return any(self.asks_responder(ref, depth + 1) for ref, _ in self.validations(ident))

    def outputs(self, ident, depth=0):
        """Claims a profile may set: its outputs, validations, transformations
        and session provider's persisted claims, following includes."""
        claims = set()
        if depth > 8:
            return claims
        for node in self.nodes(ident):
            for tag in (("OutputClaims", "OutputClaim"), ("PersistedClaims", "PersistedClaim")):
                claims |= {c.attrs.get("ClaimTypeReferenceId") for c in node.walk(*tag)}
            for ref in node.walk("OutputClaimsTransformations", "OutputClaimsTransformation") + \
                    node.walk("InputClaimsTransformations", "InputClaimsTransformation"):
                ct = self.transformation(ref.attrs.get("ReferenceId", ""))
                if ct is not None:
                    claims |= {c.attrs.get("ClaimTypeReferenceId")
                               for c in ct.walk("OutputClaims", "OutputClaim")}
            for tag in ("UseTechnicalProfileForSessionManagement",):
                sm = node.child(tag)
                if sm is not None:
                    claims |= self.outputs(sm.attrs.get("ReferenceId", ""), depth + 1)
        for ref, _ in self.validations(ident):
            claims |= self.outputs(ref, depth + 1)
        return claims

    def session_users(self, ident):
        """The technical profiles that use session profile ident."""
        users = []
        for pol in self.pset.policies:
            for tp in pol.technical_profiles():
                sm = tp.child("UseTechnicalProfileForSessionManagement")
                if sm is not None and sm.attrs.get("ReferenceId") == ident and \
                        tp.attrs.get("Id") not in users:
                    users.append(tp.attrs.get("Id"))
        return users

    def journey(self, ident):
        found = self.pset.defs.get("journey", {}).get(ident, [])
        return found[-1] if found else None


def steps_of(journey):
    steps = journey.walk("OrchestrationSteps", "OrchestrationStep")
    return sorted(steps, key=lambda s: int(s.attrs.get("Order", "0")))


def exchanges(step):
    return [x.attrs.get("TechnicalProfileReferenceId", "")
            for x in step.walk("ClaimsExchanges", "ClaimsExchange")]


def _atom(pre):
    values = [v.text for v in pre.kids("Value")]
    kind = pre.attrs.get("Type")
    if kind == "ClaimsExist" and values:
        return ("exist", values[0])
    if kind == "ClaimEquals" and len(values) >= 2:
        return ("eq", values[0], values[1])
    return ("other", kind, tuple(values))


def _consistent(state):
    """False if the assumed claim tests contradict each other."""
    for atom, val in state.items():
        if atom[0] != "eq" or not val:
            continue
        if state.get(("exist", atom[1])) is False:
            return False
        for other, oval in state.items():
            if other[0] == "eq" and other[1] == atom[1] and other[2] != atom[2] and oval:
                return False
    return True


def _assign(state, atom, val):
    new = dict(state)
    new[atom] = val
    if atom[0] == "eq" and val:
        new[("exist", atom[1])] = True
    return new if _consistent(new) else None


def _skip_branches(step, state):
    """[(skipped, state)] for every consistent outcome of the step's preconditions."""
    outcomes = [(False, state)]
    for pre in step.walk("Preconditions", "Precondition"):
        actions = [a.text for a in pre.kids("Action")]
        if "SkipThisOrchestrationStep" not in actions:
            continue
        when = pre.attrs.get("ExecuteActionsIf", "true").lower() == "true"
        atom = _atom(pre)
        nxt = []
        for skipped, st in outcomes:
            if skipped:
                nxt.append((True, st))
                continue
            for val in (True, False):
                if atom in st and st[atom] != val:
                    continue
                st2 = _assign(st, atom, val) if atom not in st else st
                if st2 is not None:
                    nxt.append((val == when, st2))
        outcomes = nxt
    return outcomes


def _forget(state, claims):
    return {a: v for a, v in state.items() if a[0] == "other" or a[1] not in claims}


def bad_paths(js, journey, limit=5):
    """Paths (lists of step orders run) that reach SendClaims without an approval."""
    steps = steps_of(journey)
    bad = []
    count = [0]

    def walk(i, state, approved, trail):
        if len(bad) >= limit:
            return
        if i == len(steps):
            count[0] += 1
            return
        step = steps[i]
        order = step.attrs.get("Order", "?")
        if step.attrs.get("Type") == "SendClaims":
            count[0] += 1
            if not approved:
                bad.append(trail + [order + ":SendClaims"])
            return
        for skipped, st in _skip_branches(step, state):
            if skipped:
                walk(i + 1, st, approved, trail)
                continue
            refs = exchanges(step)
            ok = bool(refs) and step.attrs.get("Type") == "ClaimsExchange" and \
                all(js.approves(r) for r in refs)
            out = set()
            for r in refs:
                out |= js.outputs(r)
            walk(i + 1, _forget(st, out), approved or ok, trail + [order])

    walk(0, {}, False, [])
    return bad, count[0]


def check_rp(js, rp):
    """Problems of one relying party: every path of its journey to SendClaims
    passes the approval assertion."""
    ref = rp.root.walk("RelyingParty", "DefaultUserJourney")
    name = ref[0].attrs.get("ReferenceId", "") if ref else ""
    journey = js.journey(name)
    if journey is None:
        return ["%s (%s): journey '%s' is not defined" % (rp.id, rp.name, name)]
    bad, _ = bad_paths(js, journey)
    return ["%s (%s): journey %s reaches SendClaims without an Authy approval: steps %s" %
            (rp.id, rp.name, name, " -> ".join(p)) for p in bad]


def check_refresh(js, rp):
    """A relying party that issues authyApproved has a token endpoint; its journey
    redeems a refresh token (no sign-in), checks it against revoked sessions as
    the pack's does, and carries authyApproved over."""
    problems = []
    issues = APPROVED in [c.attrs.get("ClaimTypeReferenceId") for c in
                          rp.root.walk("RelyingParty", "TechnicalProfile", "OutputClaims",
                                       "OutputClaim")]
    endpoints = rp.root.walk("RelyingParty", "Endpoints", "Endpoint")
    if issues and "Token" not in [ep.attrs.get("Id") for ep in endpoints]:
        problems.append("%s: no Token endpoint: its refresh tokens are redeemed without the "
                        "check against revoked sign-in sessions" % rp.id)
    for ep in endpoints:
        name = ep.attrs.get("UserJourneyReferenceId", "")
        journey = js.journey(name)
        if journey is None:
            problems.append("%s: endpoint journey '%s' is not defined" % (rp.id, name))
            continue
        steps = steps_of(journey)
        first = exchanges(steps[0]) if steps else []
        if first != ["RefreshTokenReadAndSetup"]:
            problems.append("%s: endpoint %s journey %s does not start by redeeming a refresh "
                            "token (RefreshTokenReadAndSetup)" % (rp.id, ep.attrs.get("Id"), name))
        elif issues and APPROVED not in js.outputs("RefreshTokenReadAndSetup"):
            problems.append("%s: refreshed tokens lose %s: RefreshTokenReadAndSetup does not "
                            "output it" % (rp.id, APPROVED))
    return problems


def _forced_false(claim):
    return claim.attrs.get("DefaultValue", "").lower() == "false" and \
        claim.attrs.get("AlwaysUseDefaultValue", "false").lower() == "true"


def _carried(js, tp):
    """Problems of a profile that outputs or persists authyApproved without
    reading it from the responder: only a page whose validation asks the
    responder, the assertion, the refresh-token redemption, and a session that
    only such pages use may carry it on; anything else may set it only to
    false."""
    ident = tp.attrs.get("Id", "")
    handler = " ".join(handler_of(n) for n in js.nodes(ident))
    problems = []
    for c in tp.walk("OutputClaims", "OutputClaim") + tp.walk("PersistedClaims", "PersistedClaim"):
        if c.attrs.get("ClaimTypeReferenceId") != APPROVED or _forced_false(c) or \
                "RestfulProvider" in handler or js.asks_responder(ident) or \
                js.is_assertion(ident) or ident == "RefreshTokenReadAndSetup":
            continue
        if "SSOSessionProvider" in handler:
            # A session no profile uses restores nothing (the pages on SM-Noop,
            # docs/policy.md "Asking on every sign-in").
            users = js.session_users(ident)
            if all(js.asks_responder(u) for u in users):
                continue
            problems.append("%s: session %s keeps %s for %s, which ask for no approval" %
                            (c.where(), ident, APPROVED,
                             ", ".join(u for u in users if not js.asks_responder(u))))
        else:
            problems.append("%s: %s %s %s but asks for no approval" %
                            (c.where(), ident, "persists" if c.tag == "PersistedClaim"
                             else "outputs", APPROVED))
    return problems


def check_sources(js, policies):
    """authyApproved comes from the responder and nowhere else: no default
    other than false, no transformation output, no user input, only the wait
    and verifytoken REST profiles read it from a partner, and only the
    profiles that ask for the approval, the MFA session they use and the
    refresh-token redemption carry it on."""
    problems = []
    for pol in policies:
        for n in pol.root.iter():
            if n.attrs.get("ClaimTypeReferenceId") != APPROVED:
                continue
            default = n.attrs.get("DefaultValue")
            if default is not None and default.lower() != "false":
                problems.append("%s: %s of %s has DefaultValue '%s'" %
                                (n.where(), n.tag, APPROVED, default))
            elif n.attrs.get("AlwaysUseDefaultValue", "false").lower() == "true" and \
                    default is None:
                problems.append("%s: %s of %s has AlwaysUseDefaultValue" %
                                (n.where(), n.tag, APPROVED))
        for ct in pol.root.walk("BuildingBlocks", "ClaimsTransformations", "ClaimsTransformation"):
            if APPROVED in [c.attrs.get("ClaimTypeReferenceId")
                            for c in ct.walk("OutputClaims", "OutputClaim")]:
                problems.append("%s: claims transformation %s outputs %s" %
                                (ct.where(), ct.attrs.get("Id"), APPROVED))
        for ctype in pol.root.walk("BuildingBlocks", "ClaimsSchema", "ClaimType"):
            if ctype.attrs.get("Id") == APPROVED and ctype.child("UserInputType") is not None:
                problems.append("%s: %s has a UserInputType: the user could type it" %
                                (ctype.where(), APPROVED))
        for tp in pol.technical_profiles():
            reads = [c for c in tp.walk("OutputClaims", "OutputClaim")
                     if c.attrs.get("ClaimTypeReferenceId") == APPROVED]
            ident = tp.attrs.get("Id", "")
            if not reads or not any("RestfulProvider" in handler_of(n) for n in js.nodes(ident)):
                continue
            if not (js.calls(ident, WAIT_PATH) or js.calls(ident, CODE_PATH)):
                problems.append("%s: REST profile %s reads %s but is not the wait or verifytoken" %
                                (tp.where(), ident, APPROVED))
        for tp in pol.technical_profiles():
            problems += _carried(js, tp)
    return problems


def check_account_sources(js, policies):
    """authyApprovedObjectId names the account of an approval: only a copy
    of objectId (CopyClaim) sets it, else a default that no objectId equals;
    the user cannot type it and no REST profile reads it."""
    problems = []
    for pol in policies:
        for ct in pol.root.walk("BuildingBlocks", "ClaimsTransformations", "ClaimsTransformation"):
            if APPROVED_ACCOUNT not in [c.attrs.get("ClaimTypeReferenceId")
                                        for c in ct.walk("OutputClaims", "OutputClaim")]:
                continue
            ins = [c.attrs.get("ClaimTypeReferenceId")
                   for c in ct.walk("InputClaims", "InputClaim")]
            if ct.attrs.get("TransformationMethod") != "CopyClaim" or ins != ["objectId"]:
                problems.append("%s: claims transformation %s sets %s from something other than "
                                "a copy of objectId" % (ct.where(), ct.attrs.get("Id"),
                                                        APPROVED_ACCOUNT))
        for ctype in pol.root.walk("BuildingBlocks", "ClaimsSchema", "ClaimType"):
            if ctype.attrs.get("Id") == APPROVED_ACCOUNT and \
                    ctype.child("UserInputType") is not None:
                problems.append("%s: %s has a UserInputType: the user could type it" %
                                (ctype.where(), APPROVED_ACCOUNT))
        for tp in pol.technical_profiles():
            rest = any("RestfulProvider" in handler_of(n) for n in js.nodes(tp.attrs.get("Id", "")))
            for c in tp.walk("OutputClaims", "OutputClaim"):
                if c.attrs.get("ClaimTypeReferenceId") != APPROVED_ACCOUNT:
                    continue
                if rest:
                    problems.append("%s: REST profile %s reads %s" %
                                    (c.where(), tp.attrs.get("Id"), APPROVED_ACCOUNT))
                if c.attrs.get("DefaultValue") not in (None, "none"):
                    problems.append("%s: %s defaults to '%s', not 'none'" %
                                    (c.where(), APPROVED_ACCOUNT, c.attrs.get("DefaultValue")))
    return problems


# --- running one journey with given answers ---------------------------------

NEW_OBJECT_ID = "1111-new-objectid"


def _value(text):
    """A DefaultValue as the journey holds it: booleans as booleans."""
    return {"false": False, "true": True}.get(text, text)


class Run:
    """Runs a journey from the step that reads the Authy ID, with a directory,
    the responder's answers per path and what the user enters, and records
    what happened. A page whose validation fails is submitted again (the user
    presses Continue), at most `tries` times. With forge, a page without a
    Continue button is submitted all the same, as a crafted POST can. The
    assertion counts as skipped when its claim is missing: the reference does
    not say that it fails then, so nothing may rely on it. user["pages"] may
    give a page's own entries ({page: {claim: value}}), a list of values
    being one per try (the last one repeated). A REST call fails, unsent, when
    an input claim it marks Required is missing, as in B2C: register needs the
    account's objectId wherever a journey enrols.

    claims are the journey's claims when the run starts (by default those of
    one signed-in account). start names a ClaimsExchange to start at instead,
    for example the sign-up page, before the account exists; a directory
    write that creates the account gives it NEW_OBJECT_ID.

    The SSO session follows B2C's account of session providers: a step whose
    profile uses a DefaultSSOSessionProvider and has already run in the
    session is skipped; the claims the provider persisted are read into the
    journey, and the provider's output claims are issued. A step that runs
    joins the session, and the provider persists those of its claims that
    the journey holds; a claim already in the session is not updated.
    session is the session of an earlier run (its .session), else a fresh one.

    Claims transformation profiles set their output claims' defaults, then
    run their output claims transformations in order, each as the reference
    describes its method (TRANSFORMS); a method without a model ends the run."""

    PATHS = ("/api/identity/register", WAIT_PATH, CODE_PATH)

    def __init__(self, js, journey, directory, replies, user, tries=4, forge=False,
                 claims=None, session=None, start=None):
        self.js = js
        self.forge = forge
        self.steps = steps_of(journey)
        self.directory = dict(directory)
        self.replies = {k: list(v) for k, v in replies.items()}
        self.user = user
        self.tries = tries
        self.bag = dict(claims) if claims is not None else \
            {"objectId": "0000-objectid", "email": "user@example.com"}
        self.session = {"members": set(), "claims": {}} if session is None else \
            {"members": set(session["members"]),
             "claims": {k: dict(v) for k, v in session["claims"].items()}}
        self.start = start
        self.log = []
        self.sent = []

    @staticmethod
    def _text(value):
        return str(value).lower() if isinstance(value, bool) else str(value)

    def _skipped(self, pres, action):
        for pre in pres:
            if action not in [a.text for a in pre.kids("Action")]:
                continue
            values = [v.text for v in pre.kids("Value")]
            kind = pre.attrs.get("Type")
            if kind == "ClaimsExist":
                hit = self.bag.get(values[0]) is not None
            else:
                hit = values[0] in self.bag and self._text(self.bag[values[0]]) == values[1]
            if hit == (pre.attrs.get("ExecuteActionsIf", "true").lower() == "true"):
                return True
        return False

    def _meta(self, ident):
        meta = {}
        for node in reversed(self.js.nodes(ident)):
            meta.update(_meta(node))
        return meta

    def _sent_id(self, ident):
        """The value the REST profile sends as authyId, or None."""
        for node in self.js.nodes(ident):
            for c in node.walk("InputClaims", "InputClaim"):
                if c.attrs.get("PartnerClaimType") == "authyId":
                    return self.bag.get(c.attrs.get("ClaimTypeReferenceId"))
        return None

    def _body(self, ident):
        """The claims a REST profile sends, by the names the responder reads:
        those the journey holds, else their default (as B2C leaves out a claim
        without a value)."""
        body = {}
        for node in self.js.nodes(ident):
            for c in node.walk("InputClaims", "InputClaim"):
                claim = c.attrs.get("ClaimTypeReferenceId")
                always = c.attrs.get("AlwaysUseDefaultValue", "false").lower() == "true"
                value = c.attrs.get("DefaultValue") if always else \
                    self.bag.get(claim, c.attrs.get("DefaultValue"))
                if value is not None:
                    body[c.attrs.get("PartnerClaimType", claim)] = value
        return body

    def _rest(self, ident):
        """One REST call, recorded in sent as (path, body). Its answer is the
        next of replies[(path, authyId sent)] when the run gives those (a
        phone that answers only for its own ID), else of replies[path]; none
        left is a 503."""
        path = [p for p in self.PATHS if self.js.calls(ident, p)][0]
        self.sent.append((path, self._body(ident)))
        sent = self._sent_id(ident)
        queue = self.replies.get((path, sent), self.replies.get(path, []))
        status, body = queue.pop(0) if queue else (503, {})
        self.log.append("call " + path.rsplit("/", 1)[-1] +
                        ("" if sent is None else " authyId=%s" % sent))
        if status != 200:
            return "error"
        for node in self.js.nodes(ident):
            for c in node.walk("OutputClaims", "OutputClaim"):
                claim = c.attrs.get("ClaimTypeReferenceId")
                partner = c.attrs.get("PartnerClaimType", claim)
                if partner in body:
                    self.bag[claim] = body[partner]
                elif c.attrs.get("DefaultValue") is not None:
                    self.bag[claim] = _value(c.attrs["DefaultValue"])
        return "ok"

    def _aad(self, ident):
        """A directory read or write of the one account in self.directory. A
        write with RaiseErrorIfClaimsPrincipalAlreadyExists creates it (and
        fails if it exists). Output claims come from the directory, else from
        their default; one with AlwaysUseDefaultValue always from its default."""
        meta = self._meta(ident)
        nodes = self.js.nodes(ident)
        created = False
        if meta.get("Operation") == "Write":
            if meta.get("RaiseErrorIfClaimsPrincipalAlreadyExists", "").lower() == "true":
                if self.directory.get("objectId") is not None or "objectId" in self.bag:
                    self.log.append("exists " + ident)
                    return "error"
                self.directory["objectId"] = NEW_OBJECT_ID
                created = True
            for node in nodes:
                for c in node.walk("PersistedClaims", "PersistedClaim"):
                    claim = c.attrs.get("ClaimTypeReferenceId")
                    if claim != "objectId" and claim in self.bag:
                        self.directory[claim] = self.bag[claim]
            self.log.append("write " + ident)
        for node in nodes:
            for c in node.walk("OutputClaims", "OutputClaim"):
                claim, default = c.attrs.get("ClaimTypeReferenceId"), c.attrs.get("DefaultValue")
                always = c.attrs.get("AlwaysUseDefaultValue", "false").lower() == "true"
                if default is not None and always:
                    self.bag[claim] = _value(default)
                elif c.attrs.get("PartnerClaimType") == "newClaimsPrincipalCreated":
                    self.bag[claim] = created
                elif self.directory.get(claim) is not None:
                    self.bag[claim] = self.directory[claim]
                elif default is not None:
                    self.bag[claim] = _value(default)
        return "ok"

    def _defaults(self, ident):
        """A profile's output claims with a default: set when missing, or always."""
        for node in self.js.nodes(ident):
            for c in node.walk("OutputClaims", "OutputClaim"):
                claim, default = c.attrs.get("ClaimTypeReferenceId"), c.attrs.get("DefaultValue")
                always = c.attrs.get("AlwaysUseDefaultValue", "false").lower() == "true"
                if default is not None and (always or claim not in self.bag):
                    self.bag[claim] = _value(default)

    def _page(self, ident):
        """Shows a page until its validations pass. As in B2C, what the user
        enters and what the validation profiles output stay on the page; only
        the page's own output claims reach the journey."""
        self.log.append("page " + ident)
        if self._meta(ident).get("setting.showContinueButton") == "false" and not self.forge:
            return "stopped"
        entries = dict(self.user)
        entries.update(self.user.get("pages", {}).get(ident, {}))
        journey = self.bag
        try:
            outcome = self._submit(ident, entries)
            page = self.bag
        finally:
            self.bag = journey
        if outcome == "ok":
            for node in self.js.nodes(ident):
                for c in node.walk("OutputClaims", "OutputClaim"):
                    claim = c.attrs.get("ClaimTypeReferenceId")
                    if claim in page:
                        self.bag[claim] = page[claim]
        return outcome

    def _submit(self, ident, entries):
        """'ok' once one try passes every validation, else 'stuck'. Each try
        starts from the journey's claims in a bag of the page's own."""
        journey = self.bag
        for attempt in range(self.tries):
            self.bag = dict(journey)
            for node in self.js.nodes(ident):
                for c in node.walk("OutputClaims", "OutputClaim"):
                    claim = c.attrs.get("ClaimTypeReferenceId")
                    if claim in entries:
                        value = entries[claim]
                        if isinstance(value, list):
                            value = value[min(attempt, len(value) - 1)]
                        self.bag[claim] = value
            self._defaults(ident)
            failed = False
            for node in self.js.nodes(ident):
                for v in node.walk("ValidationTechnicalProfiles", "ValidationTechnicalProfile"):
                    if self._skipped(v.walk("Preconditions", "Precondition"),
                                     "SkipThisValidationTechnicalProfile"):
                        continue
                    if self.run_tp(v.attrs.get("ReferenceId", "")) != "ok":
                        failed = True
                        break
                if failed:
                    break
            if not failed:
                return "ok"
        return "stuck"

    def _transformation(self, ct):
        """One claims transformation, as the reference describes its method:
        'ok', 'refused' (an assertion failed) or 'no model of ...'."""
        name, method = ct.attrs.get("Id", ""), ct.attrs.get("TransformationMethod", "")
        ins = {c.attrs.get("TransformationClaimType"): c.attrs.get("ClaimTypeReferenceId")
               for c in ct.walk("InputClaims", "InputClaim")}
        outs = {c.attrs.get("TransformationClaimType"): c.attrs.get("ClaimTypeReferenceId")
                for c in ct.walk("OutputClaims", "OutputClaim")}
        params = {p.attrs.get("Id"): p.attrs.get("Value", "")
                  for p in ct.walk("InputParameters", "InputParameter")}
        model = TRANSFORMS.get(method)
        if model is None:
            return "no model of " + method
        if any(self.bag.get(c) is None for c in ins.values()):
            # The reference does not say what happens to a missing input:
            # assume the worst, that the transformation is skipped.
            self.log.append("skipped, no claim: " + name)
            return "ok"
        self.log.append("%s %s" % (model[0], name))
        return model[1](self, ins, outs, params)

    def _claims_transformation_tp(self, ident):
        self._defaults(ident)
        for node in self.js.nodes(ident):
            for ref in node.walk("OutputClaimsTransformations", "OutputClaimsTransformation"):
                ct = self.js.transformation(ref.attrs.get("ReferenceId", ""))
                outcome = self._transformation(ct) if ct is not None else "no transformation"
                if outcome != "ok":
                    return outcome
        return "ok"

    def _missing(self, ident):
        """The first input claim of the REST profile marked Required that the
        journey does not hold (and that has no default), else None: B2C fails
        the call then, without sending it."""
        for node in self.js.nodes(ident):
            for c in node.walk("InputClaims", "InputClaim"):
                claim = c.attrs.get("ClaimTypeReferenceId")
                if c.attrs.get("Required", "false").lower() == "true" and \
                        c.attrs.get("DefaultValue") is None and self.bag.get(claim) is None:
                    return claim
        return None

    def _protocols(self, ident):
        return {n.child("Protocol").attrs.get("Name") for n in self.js.nodes(ident)
                if n.child("Protocol") is not None}

    def run_tp(self, ident):
        handlers = " ".join(handler_of(n) for n in self.js.nodes(ident))
        if "RestfulProvider" in handlers:
            missing = self._missing(ident)
            if missing is not None:
                self.log.append("missing %s: %s" % (missing, ident))
                return "error"
            return self._rest(ident)
        if "AzureActiveDirectoryProvider" in handlers:
            return self._aad(ident)
        if self._protocols(ident) & {"OAuth1", "OAuth2"}:
            # A social sign-in: only the claims the profile gives by default.
            self.log.append("idp " + ident)
            self._defaults(ident)
            return "ok"
        if "ClaimsTransformationProtocolProvider" in handlers:
            return self._claims_transformation_tp(ident)
        if "SelfAssertedAttributeProvider" in handlers:
            return self._page(ident)
        return "ok"

    def _sso_provider(self, ident):
        """The profile's session profile if it is a DefaultSSOSessionProvider
        (the profile's own setting first, then its includes'), else None."""
        own = self.js.pset.tp_nodes(ident)
        for node in list(reversed(own)) + [n for n in self.js.nodes(ident) if n not in own]:
            sm = node.child("UseTechnicalProfileForSessionManagement")
            if sm is None:
                continue
            ref = sm.attrs.get("ReferenceId", "")
            if any("DefaultSSOSessionProvider" in handler_of(n) for n in self.js.nodes(ref)):
                return ref
            return None
        return None

    def _restore(self, ident, sm):
        self.log.append("sso " + ident)
        self.bag.update(self.session["claims"].get(sm, {}))
        self._defaults(sm)

    def _join(self, ident, sm):
        self.session["members"].add(ident)
        kept = self.session["claims"].setdefault(sm, {})
        for node in self.js.nodes(sm):
            for c in node.walk("PersistedClaims", "PersistedClaim"):
                claim = c.attrs.get("ClaimTypeReferenceId")
                if claim in self.bag and claim not in kept:
                    kept[claim] = self.bag[claim]

    def _first(self):
        """(index of the first step, exchange id chosen there)."""
        for i, step in enumerate(self.steps):
            ids = [x.attrs.get("Id") for x in step.walk("ClaimsExchanges", "ClaimsExchange")]
            if self.start is not None and self.start in ids:
                return i, self.start
            if self.start is None and exchanges(step) == ["AAD-UserReadAuthyIdUsingObjectId"]:
                return i, None
        return 0, None

    def run(self):
        """'token', 'refused' (the journey fails), 'stopped' or 'stuck'."""
        first, chosen = self._first()
        for i, step in enumerate(self.steps[first:]):
            if self._skipped(step.walk("Preconditions", "Precondition"),
                             "SkipThisOrchestrationStep"):
                continue
            if step.attrs.get("Type") == "SendClaims":
                self.log.append("token")
                return "token"
            refs = [x.attrs.get("TechnicalProfileReferenceId", "")
                    for x in step.walk("ClaimsExchanges", "ClaimsExchange")
                    if i > 0 or chosen is None or x.attrs.get("Id") == chosen]
            for ident in refs[:1]:
                sm = self._sso_provider(ident)
                if sm is not None and ident in self.session["members"]:
                    self._restore(ident, sm)
                    continue
                outcome = self.run_tp(ident)
                if outcome != "ok":
                    return outcome
                if sm is not None:
                    self._join(ident, sm)
        return "no SendClaims"


def _copy_claim(run, ins, outs, _params):
    run.bag[outs["outputClaim"]] = run.bag[ins["inputClaim"]]
    return "ok"


def _assert_boolean(run, ins, _outs, params):
    value = Run._text(run.bag[ins["inputClaim"]]).lower()
    return "ok" if value == params.get("valueToCompareTo", "").lower() else "refused"


def _assert_strings(run, ins, _outs, params):
    one, two = str(run.bag[ins["inputClaim1"]]), str(run.bag[ins["inputClaim2"]])
    if params.get("stringComparison", "").lower() == "ordinalignorecase":
        one, two = one.lower(), two.lower()
    return "ok" if one == two else "refused"


# The claims transformation methods the journey runs use: (log word, model).
# CopyClaim copies inputClaim to outputClaim; AssertBooleanClaimIsEqualToValue
# fails unless inputClaim equals valueToCompareTo; AssertStringClaimsAreEqual
# fails unless inputClaim1 equals inputClaim2 under stringComparison (Ordinal
# or OrdinalIgnoreCase).
TRANSFORMS = {
    "CopyClaim": ("copy", _copy_claim),
    ASSERT_METHOD: ("assert", _assert_boolean),
    ASSERT_STRINGS: ("assert", _assert_strings),
}
