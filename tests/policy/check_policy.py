#!/usr/bin/python3
"""check_policy.py - static checks of the b2c-authy custom policy.

Validates policy/*.xml (with placeholders) and the output of scripts/policy.sh
against the starter pack's XSD with xmllint, then loads the pack's Base and
Localization files with ours and checks that every reference resolves across
the files, that the REST technical profiles send and read exactly the claim
names the responder knows (parsed from src/b2c/b2c.h), that the journeys
verify enrolled users, enrol the others (also with provider = verify) and
never enrol on a password reset, that our metadata keys and preconditions are
ones B2C documents and our pages show only what the user may give, and that
every relying party the tenant would have reaches SendClaims only through an
Authy approval (policy_paths.py).
The same path check must fail on the unprotected set kept in
fixtures/unprotected and on the starter pack alone. Mutated copies prove that
the checks catch dangling references, misspelled claim names, schema errors
and every way of skipping the approval.

Usage: check_policy.py [--root DIR] [--pack DIR]
The pack defaults to $B2C_STARTERPACK, else ROOT/../shared/b2c-starterpack
(or ROOT/../../shared/b2c-starterpack for a worktree);
without it the script prints a skip line and "0 passed, 0 failed".
Python 3 standard library only; xmllint is run as a subprocess.
"""

import argparse
import difflib
import filecmp
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.parsers.expat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import policy_paths  # noqa: E402

XSD_NAME = "TrustFrameworkPolicy_0.3.0.0.libxml2.xsd"
PACK_FILES = ["TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml"]
OUR_RPS = ["SignUpOrSignin.xml", "ProfileEdit.xml", "PasswordReset.xml"]
OUR_FILES = ["TrustFrameworkExtensions.xml"] + OUR_RPS
PACK_EXT = "TrustFrameworkExtensions.xml"
PACK_RPS = ["SignUpOrSignin.xml", "ProfileEdit.xml", "PasswordReset.xml"]
# The starter pack files the policy was checked against (SHA-256, first 16 hex
# digits); docs/policy.md names the same version.
PACK_VERSION = {"TrustFrameworkBase.xml": "21f7c4b2e2e4ac16",
                "TrustFrameworkLocalization.xml": "3c80990adb31d9b5"}
REST_HANDLER = ("Web.TPEngine.Providers.RestfulProvider, Web.TPEngine, "
                "Version=1.0.0.0, Culture=neutral, PublicKeyToken=null")
CERT_KEY = "B2C_1A_AuthyClientCert"
REGISTER_PATH = "/api/identity/register"
WAIT_PATH = "/api/identity/waitforauthyapproval"
CODE_PATH = "/api/identity/verifytoken"
AUTHY_CLAIM = "extension_authyId"
APPROVED_ACCOUNT = "authyApprovedObjectId"
PLACEHOLDERS = ["yourtenant.onmicrosoft.com", "{BASE_URL}", "{EXTENSIONS_APP_ID}",
                "{EXTENSIONS_OBJECT_ID}", "ProxyIdentityExperienceFrameworkAppId",
                "IdentityExperienceFrameworkAppId", "facebook_clientid", "{APP_NAME}"]

# Values used to build the substituted copies.
TEST_TENANT = "contoso"
TEST_BASE_URL = "https://authy.example.com/b2c"
TEST_GUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TEST_ARGS = ["TENANT=" + TEST_TENANT, "BASE_URL=" + TEST_BASE_URL,
             "EXTENSIONS_APP_ID=" + TEST_GUID, "EXTENSIONS_OBJECT_ID=" + TEST_GUID,
             "IEF_APP_ID=" + TEST_GUID, "PROXY_IEF_APP_ID=" + TEST_GUID,
             "FACEBOOK_CLIENT_ID=1234567890"]
# The Verify build: every character XML escapes, in the app's name.
TEST_APP_NAME = "O'Brien & \"Sons\" <Bank> $aver"
VERIFY_ARGS = ["PROVIDER=verify", "APP_NAME=" + TEST_APP_NAME]


class Node:
    """One XML element: local name, attributes, text, children, source line."""

    def __init__(self, tag, attrs, line, path):
        self.tag = tag
        self.attrs = attrs
        self.line = line
        self.path = path
        self.text = ""
        self.children = []

    def kids(self, tag):
        return [c for c in self.children if c.tag == tag]

    def child(self, tag):
        found = self.kids(tag)
        return found[0] if found else None

    def walk(self, *tags):
        """Descendants reached through exactly this chain of child names."""
        nodes = [self]
        for tag in tags:
            nodes = [k for n in nodes for k in n.kids(tag)]
        return nodes

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def where(self):
        return "%s:%d" % (os.path.basename(self.path), self.line)


def load_xml(path):
    """Parse path with expat (for line numbers); namespaces are dropped."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack = []
    root = []

    def start(name, attrs):
        node = Node(name.split(" ")[-1], attrs, parser.CurrentLineNumber, path)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_name):
        stack[-1].text = stack[-1].text.strip()
        stack.pop()

    def chars(data):
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    with open(path, "rb") as f:
        parser.ParseFile(f)
    return root[0]


def metadata(tp):
    """The Metadata items of a technical profile as a dict."""
    return {i.attrs.get("Key"): i.text for i in tp.walk("Metadata", "Item")}


class Policy:
    """One loaded policy file and the ids it defines."""

    def __init__(self, path, ours):
        self.path = path
        self.name = os.path.basename(path)
        self.ours = ours
        self.root = load_xml(path)
        self.id = self.root.attrs.get("PolicyId", "")
        self.tenant = self.root.attrs.get("TenantId", "")
        base = self.root.child("BasePolicy")
        self.base = None
        if base is not None:
            self.base = (base.child("TenantId").text if base.child("TenantId") else "",
                         base.child("PolicyId").text if base.child("PolicyId") else "")

    def technical_profiles(self):
        return self.root.walk("ClaimsProviders", "ClaimsProvider", "TechnicalProfiles",
                              "TechnicalProfile")

    def journeys(self):
        return (self.root.walk("UserJourneys", "UserJourney") +
                self.root.walk("SubJourneys", "SubJourney"))

    def definitions(self):
        """(kind, id, node) for every definition in this file."""
        bb = ("BuildingBlocks",)
        table = [
            ("claim", bb + ("ClaimsSchema", "ClaimType")),
            ("transformation", bb + ("ClaimsTransformations", "ClaimsTransformation")),
            ("content", bb + ("ContentDefinitions", "ContentDefinition")),
            ("client", bb + ("ClientDefinitions", "ClientDefinition")),
            ("localized", bb + ("Localization", "LocalizedResources")),
        ]
        for kind, chain in table:
            for n in self.root.walk(*chain):
                yield kind, n.attrs.get("Id", ""), n
        for n in self.technical_profiles():
            yield "tp", n.attrs.get("Id", ""), n
        for n in self.journeys():
            yield "journey", n.attrs.get("Id", ""), n


class PolicySet:
    """Base, localization, extensions and relying party, loaded together."""

    def __init__(self, paths, our_paths):
        ours = {os.path.abspath(p) for p in our_paths}
        self.policies = [Policy(p, os.path.abspath(p) in ours) for p in paths]
        self.defs = {}
        for pol in self.policies:
            for kind, ident, node in pol.definitions():
                self.defs.setdefault(kind, {}).setdefault(ident, []).append(node)

    def policy(self, name):
        for pol in self.policies:
            if pol.name == name and pol.ours:
                return pol
        return None

    def relying_parties(self):
        return [p for p in self.policies if p.root.child("RelyingParty") is not None]

    def resolve(self, kind, ident, ours):
        """None when ident is defined; else a problem text. B2C matches ids
        without regard to case (the pack itself writes surName for surname),
        so a case-only difference is tolerated in the pack but not in ours."""
        table = self.defs.get(kind, {})
        if ident in table:
            return None
        folded = [k for k in table if k.lower() == ident.lower()]
        if folded and not ours:
            return None
        if folded:
            return "'%s' differs in case from the definition '%s'" % (ident, folded[0])
        return "'%s' is not defined in any of the loaded files" % ident

    def tp_nodes(self, ident):
        table = self.defs.get("tp", {})
        nodes = list(table.get(ident, []))
        for k, v in table.items():
            if k != ident and k.lower() == ident.lower():
                nodes += v
        return nodes


# --- reference checks -------------------------------------------------------

def ref_claims(pol):
    """(node, claim id) for every reference to a claim type."""
    for n in pol.root.iter():
        if "ClaimTypeReferenceId" in n.attrs:
            yield n, n.attrs["ClaimTypeReferenceId"]
        if n.tag == "Precondition" and n.attrs.get("Type") in ("ClaimsExist", "ClaimEquals"):
            values = n.kids("Value")
            if values:
                yield values[0], values[0].text
        if n.tag == "LocalizedString" and n.attrs.get("ElementType") == "ClaimType":
            yield n, n.attrs.get("ElementId", "")


def ref_tps(pol):
    for n in pol.root.iter():
        if n.tag in ("ValidationTechnicalProfile", "IncludeTechnicalProfile",
                     "UseTechnicalProfileForSessionManagement"):
            yield n, n.attrs.get("ReferenceId", "")
        elif n.tag == "OrchestrationStep" and "CpimIssuerTechnicalProfileReferenceId" in n.attrs:
            yield n, n.attrs["CpimIssuerTechnicalProfileReferenceId"]
        elif n.tag == "From":
            yield n, n.attrs.get("TechnicalProfileReferenceId", "")


def ref_exchanges(pol):
    for n in pol.root.iter():
        if n.tag == "ClaimsExchange":
            yield n, n.attrs.get("TechnicalProfileReferenceId", "")


def ref_contents(pol):
    for n in pol.root.iter():
        if n.tag == "OrchestrationStep" and "ContentDefinitionReferenceId" in n.attrs:
            yield n, n.attrs["ContentDefinitionReferenceId"]
        elif n.tag == "Item" and n.attrs.get("Key") == "ContentDefinitionReferenceId":
            yield n, n.text


def ref_journeys(pol):
    for n in pol.root.iter():
        if n.tag == "DefaultUserJourney":
            yield n, n.attrs.get("ReferenceId", "")
        elif n.tag == "Endpoint" and "UserJourneyReferenceId" in n.attrs:
            yield n, n.attrs["UserJourneyReferenceId"]


def ref_transformations(pol):
    for n in pol.root.iter():
        if n.tag in ("InputClaimsTransformation", "OutputClaimsTransformation"):
            yield n, n.attrs.get("ReferenceId", "")


def ref_clients(pol):
    for n in pol.root.iter():
        if n.tag == "ClientDefinition" and "ReferenceId" in n.attrs:
            yield n, n.attrs["ReferenceId"]


def ref_localized(pol):
    for n in pol.root.iter():
        if n.tag == "LocalizedResourcesReference" and "LocalizedResourcesReferenceId" in n.attrs:
            yield n, n.attrs["LocalizedResourcesReferenceId"]


REFERENCE_KINDS = [
    ("ClaimTypeReferenceId (and precondition/localized claim ids)", "claim", ref_claims),
    ("TechnicalProfile references (validation, include, session, issuer)", "tp", ref_tps),
    ("ClaimsExchange TechnicalProfileReferenceId", "tp", ref_exchanges),
    ("ContentDefinitionReferenceId", "content", ref_contents),
    ("UserJourney references (DefaultUserJourney, Endpoint)", "journey", ref_journeys),
    ("ClaimsTransformation references", "transformation", ref_transformations),
    ("ClientDefinition references", "client", ref_clients),
    ("LocalizedResources references", "localized", ref_localized),
]


def check_references(pset):
    """[(check name, problems)] for every kind of reference."""
    results = []
    for title, kind, finder in REFERENCE_KINDS:
        problems = []
        for pol in pset.policies:
            for node, ident in finder(pol):
                why = pset.resolve(kind, ident, pol.ours)
                if why:
                    problems.append("%s: %s %s" % (node.where(), node.tag, why))
        results.append((title, problems))
    results.append(("ClaimsProviderSelection targets exist in their journey",
                    check_selections(pset)))
    results.append(("every technical profile has a protocol (own, override or include)",
                    check_protocols(pset)))
    results.append(("BasePolicy chain: relying party -> extensions -> localization -> base",
                    check_chain(pset)))
    return results


def check_selections(pset):
    problems = []
    for pol in pset.policies:
        for journey in pol.journeys():
            ids = {n.attrs.get("Id") for n in journey.iter() if n.tag == "ClaimsExchange"}
            for sel in (n for n in journey.iter() if n.tag == "ClaimsProviderSelection"):
                for attr in ("TargetClaimsExchangeId", "ValidationClaimsExchangeId"):
                    target = sel.attrs.get(attr)
                    if target is not None and target not in ids:
                        problems.append("%s: %s '%s' is no ClaimsExchange of journey '%s'" %
                                        (sel.where(), attr, target, journey.attrs.get("Id")))
    return problems


def has_protocol(pset, ident, seen):
    if ident.lower() in seen:
        return False
    seen.add(ident.lower())
    for node in pset.tp_nodes(ident):
        if node.child("Protocol") is not None:
            return True
        inc = node.child("IncludeTechnicalProfile")
        if inc is not None and has_protocol(pset, inc.attrs.get("ReferenceId", ""), seen):
            return True
    return False


def check_protocols(pset):
    problems = []
    for pol in pset.policies:
        for tp in pol.technical_profiles():
            ident = tp.attrs.get("Id", "")
            if not has_protocol(pset, ident, set()):
                problems.append("%s: TechnicalProfile '%s' has no Protocol anywhere (a "
                                "misspelled override?)" % (tp.where(), ident))
    return problems


def chain_of(pset, rp):
    """(policies from rp down to the root, problems)."""
    problems = []
    by_id = {p.id: p for p in pset.policies}
    chain, pol = [], rp
    while pol is not None and pol not in chain:
        chain.append(pol)
        if pol.base is None:
            pol = None
            continue
        tenant, ident = pol.base
        if tenant != pol.tenant:
            problems.append("%s: BasePolicy TenantId '%s' is not the policy's '%s'" %
                            (pol.name, tenant, pol.tenant))
        if ident not in by_id:
            problems.append("%s: BasePolicy '%s' is not one of the loaded policies" %
                            (pol.name, ident))
        pol = by_id.get(ident)
    if pol is not None:
        problems.append("BasePolicy chain loops at %s" % pol.name)
    return chain, problems


def check_chain(pset):
    """Every relying party chains down to the one policy without a base, and
    every loaded file is on a relying party's chain."""
    rps = pset.relying_parties()
    if not rps:
        return ["no relying party file loaded"]
    problems, seen = [], set()
    for rp in rps:
        chain, probs = chain_of(pset, rp)
        problems += probs
        seen |= {id(p) for p in chain}
        if chain and chain[-1].base is not None and not probs:
            problems.append("%s: the chain does not end at a policy without BasePolicy" % rp.name)
    missing = [p.name for p in pset.policies if id(p) not in seen]
    if missing and not problems:
        problems.append("not on any relying party's chain: %s" % ", ".join(missing))
    return problems


# --- the responder's contract ----------------------------------------------

def responder_claims(header):
    """(input names, output names) from the #define lines of src/b2c/b2c.h."""
    inputs, outputs = set(), set()
    pattern = re.compile(r'^\s*#\s*define\s+(B2C_(CLAIM|OUT)_\w+)\s+"([^"]*)"')
    with open(header, encoding="utf-8") as f:
        text = re.sub(r"\\\n\s*", " ", f.read())
        for line in text.splitlines():
            m = pattern.match(line)
            if m:
                (inputs if m.group(2) == "CLAIM" else outputs).add(m.group(3))
    return inputs, outputs


def responder_strings(header):
    """{macro: text} for the string #defines of src/b2c/b2c.h (continued
    lines and adjacent literals joined)."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r'"\s*\\\n\s*"', "", text)
    text = re.sub(r"\\\n\s*", " ", text)
    return dict(re.findall(r'#\s*define\s+(B2C_\w+)\s+"((?:[^"\\]|\\.)*)"', text))


# The body of a REST validation error as Microsoft's reference gives it
# ("Returning validation error message"): B2C shows userMessage on the page,
# and code and requestId with DebugMode.
B2C_ERROR_KEYS = {"B2C_KEY_VERSION": "version", "B2C_KEY_STATUS": "status",
                  "B2C_KEY_USER_MESSAGE": "userMessage", "B2C_KEY_CODE": "code",
                  "B2C_KEY_REQUEST_ID": "requestId"}


def check_error_body(strings):
    """The responder's 409 body uses the names B2C reads."""
    problems = ["src/b2c/b2c.h: %s is '%s', B2C reads '%s'" % (k, strings.get(k), v)
                for k, v in sorted(B2C_ERROR_KEYS.items()) if strings.get(k) != v]
    if not strings.get("B2C_ERR_VERSION"):
        problems.append("src/b2c/b2c.h: no B2C_ERR_VERSION for the body's version")
    return problems


def check_rest_messages(tp, strings):
    """What B2C itself shows when a call fails without the responder's
    answer reads as the responder's own texts: the default message is its
    B2C_MSG_UPSTREAM, and the wait's timeout message its B2C_MSG_TIMEOUT (the
    same words as the 409 when the wait budget runs out; docs/policy.md,
    Timeouts and retries)."""
    meta = metadata(tp)
    want = {"DefaultUserMessageIfRequestFailed": "B2C_MSG_UPSTREAM"}
    if meta.get("ServiceUrl", "").endswith(WAIT_PATH):
        want["UserMessageIfRequestTimeout"] = "B2C_MSG_TIMEOUT"
    return ["%s: %s is '%s', the responder's %s is '%s'" %
            (tp.attrs.get("Id"), key, meta.get(key), macro, strings.get(macro))
            for key, macro in sorted(want.items()) if meta.get(key) != strings.get(macro)]


def check_docs_name_definitions(ext_path, pack_ext_path, doc_path):
    """docs/policy.md names (as `Id`) every claim, claims transformation,
    content definition, technical profile and journey our extensions file
    defines or overrides, apart from the pack's own settings it repeats."""
    ext = load_xml(ext_path)
    repeated = set()
    if os.path.exists(pack_ext_path):
        repeated = {n.attrs.get("Id") for n in load_xml(pack_ext_path).iter()
                    if n.tag == "TechnicalProfile"}
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    kinds = {"ClaimType": "claim", "ClaimsTransformation": "claims transformation",
             "ContentDefinition": "content definition", "TechnicalProfile": "technical profile",
             "UserJourney": "journey"}
    return ["docs/policy.md does not name the %s `%s`" % (kinds[n.tag], n.attrs.get("Id"))
            for n in ext.iter() if n.tag in kinds and n.attrs.get("Id") not in repeated and
            "`%s`" % n.attrs.get("Id") not in doc]


def check_docs_policy_claim(pset, doc_path):
    """docs/policy.md tells apps to read the policy ID where the token
    issuer puts it: acr, in lower case, unless a JwtIssuer sets
    AuthenticationContextReferenceClaimPattern to None (then tfp)."""
    patterns = [i.text for n in pset.tp_nodes("JwtIssuer") for i in n.walk("Metadata", "Item")
                if i.attrs.get("Key") == "AuthenticationContextReferenceClaimPattern"]
    claim = "tfp" if patterns and (patterns[-1] or "").strip() == "None" else "acr"
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    want = ["`acr`, in lower case", 'FindFirst("acr")'] if claim == "acr" else ['FindFirst("tfp")']
    return ["docs/policy.md does not say %s (the token issuer writes the policy ID into %s)" %
            (w, claim) for w in want if w not in doc]


# What verifytoken takes as a code (src/b2c/b2c.c, read_token), for the page's pattern.
TOKEN_TAKEN = ["123456", "1234567", "0123456789", "123 4567", "123-456", "12 34-56",
               "1 2 3 4 5 6 7 8 9 0"]
TOKEN_REFUSED = ["", "12345", "12345678901", "123 45", "123  4567", "123--456", "123 -456",
                 "-123456", "123456-", " 123456", "12a456", "123.456", "123\t456"]


def check_token_pattern(ext_path, header):
    """The code page's pattern accepts the codes verifytoken takes (grouped by
    one space or dash) and refuses the ones it refuses, so the page never
    sends a code the responder rejects, nor blocks one it would take."""
    text = open(header, encoding="utf-8").read()
    lo, hi = (int(re.search(r"#define B2C_TOKEN_%s (\d+)" % k, text).group(1))
              for k in ("MIN", "MAX"))
    if (lo, hi) != (6, 10):
        return ["B2C_TOKEN_MIN/MAX are %d/%d: update the samples here" % (lo, hi)]
    root = load_xml(ext_path)
    pats = [n.attrs.get("RegularExpression") for ct in root.iter()
            if ct.tag == "ClaimType" and ct.attrs.get("Id") == "authyToken"
            for n in ct.iter() if n.tag == "Pattern"]
    if len(pats) != 1:
        return ["authyToken has %d patterns, want 1" % len(pats)]
    rx = re.compile(pats[0])
    return (["pattern %r refuses %r" % (pats[0], s) for s in TOKEN_TAKEN if not rx.search(s)] +
            ["pattern %r accepts %r" % (pats[0], s) for s in TOKEN_REFUSED if rx.search(s)])


def check_token_optional(ext_path):
    """The code box is optional on its page (a push needs no code), so the
    verifytoken profile must not mark token Required: B2C would then fail the
    empty box itself instead of showing the responder's token_missing message."""
    root = load_xml(ext_path)
    probs, seen = [], 0
    for tp in root.iter():
        if tp.tag != "TechnicalProfile" or not metadata(tp).get("ServiceUrl", "").endswith(
                CODE_PATH):
            continue
        for n in tp.walk("InputClaims", "InputClaim"):
            if n.attrs.get("PartnerClaimType") == "token":
                seen += 1
                if n.attrs.get("Required") == "true":
                    probs.append("%s: token is Required" % n.where())
    return probs if seen else ["no verifytoken profile sends token"]


def claim_names(tp, section, item):
    """[(node, name sent or read, policy claim)] of a REST profile."""
    out = []
    for n in tp.walk(section, item):
        policy_claim = n.attrs.get("ClaimTypeReferenceId", "")
        out.append((n, n.attrs.get("PartnerClaimType", policy_claim), policy_claim))
    return out


def rest_profiles(pol):
    return [tp for tp in pol.technical_profiles()
            if tp.child("Protocol") is not None and
            "RestfulProvider" in tp.child("Protocol").attrs.get("Handler", "")]


def check_rest_profile(tp, mode, contract):
    """Problems of one REST technical profile: transport settings and names."""
    inputs, outputs = contract[:2]
    meta = metadata(tp)
    problems = []
    if tp.child("Protocol").attrs.get("Handler") != REST_HANDLER:
        problems.append("%s: Protocol Handler is not exactly '%s'" % (tp.where(), REST_HANDLER))
    url = meta.get("ServiceUrl", "")
    prefix = "{BASE_URL}/" if mode == "raw" else TEST_BASE_URL + "/"
    if not url.startswith(prefix) or not url.endswith((REGISTER_PATH, WAIT_PATH, CODE_PATH)):
        problems.append("%s: ServiceUrl '%s' is not %s + a responder path" %
                        (tp.where(), url, prefix.rstrip("/")))
    for key, want in (("AuthenticationType", "ClientCertificate"), ("SendClaimsIn", "Body")):
        if meta.get(key) != want:
            problems.append("%s: metadata %s is '%s', not '%s'" %
                            (tp.where(), key, meta.get(key), want))
    keys = {(k.attrs.get("Id"), k.attrs.get("StorageReferenceId"))
            for k in tp.walk("CryptographicKeys", "Key")}
    if ("ClientCertificate", CERT_KEY) not in keys:
        problems.append("%s: no Key Id=ClientCertificate StorageReferenceId=%s" %
                        (tp.where(), CERT_KEY))
    resolvers = [n for n in tp.walk("InputClaims", "InputClaim")
                 if "{Context:" in n.attrs.get("DefaultValue", "")]
    if resolvers and meta.get("IncludeClaimResolvingInClaimsHandling", "").lower() != "true":
        problems.append("%s: claim resolvers without IncludeClaimResolvingInClaimsHandling=true "
                        "(B2C would send the text '{Context:...}')" % tp.where())
    for node, name, _ in claim_names(tp, "InputClaims", "InputClaim"):
        if name not in inputs:
            problems.append("%s: sends '%s', which the responder does not read (%s)" %
                            (node.where(), name, ", ".join(sorted(inputs))))
    for node, name, _ in claim_names(tp, "OutputClaims", "OutputClaim"):
        if name not in outputs:
            problems.append("%s: reads '%s', which the responder does not return (%s)" %
                            (node.where(), name, ", ".join(sorted(outputs))))
    return problems


def resolved(tp, partner):
    """The claim resolver a REST profile sends as partner (always), else None."""
    for n in tp.walk("InputClaims", "InputClaim"):
        if n.attrs.get("PartnerClaimType", n.attrs.get("ClaimTypeReferenceId")) == partner and \
                n.attrs.get("AlwaysUseDefaultValue", "").lower() == "true":
            return n.attrs.get("DefaultValue")
    return None


# What each endpoint must send and read: (path, sent, one of, read (partner, claim),
# claim resolvers (partner, value)).
ENDPOINTS = [
    (REGISTER_PATH, {"phoneNumber"}, {"email", "signInName"}, {("authyId", AUTHY_CLAIM)},
     {("correlationId", "{Context:CorrelationId}")}),
    (WAIT_PATH, {"authyId"}, {"email", "signInName"},
     {("authyApproved", "authyApproved"), ("factorStatus", "authyFactorStatus")},
     {("correlationId", "{Context:CorrelationId}"), ("ipAddress", "{Context:IPAddress}")}),
    (CODE_PATH, {"authyId", "token"}, {"email", "signInName"}, {("authyApproved", "authyApproved")},
     {("correlationId", "{Context:CorrelationId}"), ("ipAddress", "{Context:IPAddress}")}),
]


# What the responder reads as a phone number; the Verify build sends neither.
PHONE_CLAIMS = {"phoneNumber", "countryCode"}


# Claims an endpoint must send from a given policy claim (partner, policy claim): register
# names the account, whose objectId a Verify identity is derived from (a name may be
# another account's too).
FROM_CLAIM = {REGISTER_PATH: {("objectId", "objectId")}}


def check_endpoint_claims(tp, mode="raw"):
    """The claims each endpoint needs are sent, its answers land in the right
    policy claims, and the transaction's correlation id and the client's IP
    address (for the wait and verifytoken, which bind a push or an accepted
    code to the sign-in with them) come from claim resolvers, never from the
    user. The Verify build (mode verify) sends no phone number."""
    url = metadata(tp).get("ServiceUrl", "")
    sent = {name for _, name, _ in claim_names(tp, "InputClaims", "InputClaim")}
    read = {(name, claim) for _, name, claim in claim_names(tp, "OutputClaims", "OutputClaim")}
    pairs = {(name, claim) for _, name, claim in claim_names(tp, "InputClaims", "InputClaim")}
    problems = []
    for path, need, one_of, reads, resolvers in ENDPOINTS:
        if not url.endswith(path):
            continue
        what = path.rsplit("/", 1)[-1]
        if mode == "verify":
            need = need - PHONE_CLAIMS
        for partner, claim in sorted(FROM_CLAIM.get(path, set()) - pairs):
            problems.append("%s: %s must send %s from the claim %s" %
                            (tp.where(), what, partner, claim))
        if not need <= sent or not sent & one_of:
            problems.append("%s: %s must send %s and one of %s" %
                            (tp.where(), what, sorted(need), sorted(one_of)))
        for partner, claim in sorted(reads - read):
            problems.append("%s: %s must map %s to %s" % (tp.where(), what, partner, claim))
        for partner, value in sorted(resolvers):
            if resolved(tp, partner) != value:
                problems.append("%s: %s must always send %s from %s" %
                                (tp.where(), what, partner, value))
    return problems


def check_rest(pset, mode, contract):
    ext = pset.policy("TrustFrameworkExtensions.xml")
    profiles = rest_profiles(ext)
    results = []
    for path in (REGISTER_PATH, WAIT_PATH, CODE_PATH):
        n = sum(1 for tp in profiles if metadata(tp).get("ServiceUrl", "").endswith(path))
        results.append(("one REST technical profile calls %s" % path,
                        [] if n == 1 else ["found %d" % n]))
    for tp in profiles:
        ident = tp.attrs.get("Id")
        problems = check_rest_profile(tp, mode, contract)
        names = [p for p in problems if "responder does not" in p]
        results.append(("REST %s: handler, ServiceUrl, client certificate, body, resolvers" %
                        ident, [p for p in problems if p not in names]))
        results.append(("REST %s: claim names are the responder's (src/b2c/b2c.h)" % ident,
                        names + check_endpoint_claims(tp, mode)))
        if len(contract) > 2:
            results.append(("REST %s: B2C's own error messages are the responder's" % ident,
                            check_rest_messages(tp, contract[2])))
    return results


# --- the journeys -----------------------------------------------------------

def validations(tp):
    return [v.attrs.get("ReferenceId") for v in tp.walk("ValidationTechnicalProfiles",
                                                         "ValidationTechnicalProfile")]


def has_pre(step, kind, values, when):
    """True if step is skipped when the precondition (kind, values) is when."""
    for pre in step.walk("Preconditions", "Precondition"):
        if (pre.attrs.get("Type") == kind and [v.text for v in pre.kids("Value")] == values and
                pre.attrs.get("ExecuteActionsIf") == when and
                "SkipThisOrchestrationStep" in [a.text for a in pre.kids("Action")]):
            return True
    return False


class Pages:
    """The Authy pages of one journey, recognised by what they call."""

    def __init__(self, pset, journey):
        self.js = policy_paths.Journeys(pset)
        self.pset = pset
        self.steps = policy_paths.steps_of(journey)

    def tp(self, ident):
        nodes = self.pset.tp_nodes(ident)
        return nodes[-1] if nodes else None

    def chain(self, ident):
        tp = self.tp(ident)
        return validations(tp) if tp is not None else []

    def find(self, test):
        """[(index, step, profile id)] of the steps whose one exchange passes test."""
        out = []
        for i, step in enumerate(self.steps):
            refs = policy_paths.exchanges(step)
            if len(refs) == 1 and test(refs[0]):
                out.append((i, step, refs[0]))
        return out

    def calls(self, ident, path):
        return self.js.calls(ident, path)

    def is_enrol(self, ident):
        c = self.chain(ident)
        return len(c) >= 3 and self.calls(c[0], REGISTER_PATH) and self.calls(c[1], WAIT_PATH) \
            and any(self.writes(v) for v in c[2:])

    def is_verify(self, ident):
        c = self.chain(ident)
        return bool(c) and self.calls(c[0], WAIT_PATH) and not self.is_setup(ident)

    def is_setup(self, ident):
        tp = self.tp(ident)
        c = self.chain(ident)
        return len(c) >= 2 and self.calls(c[0], WAIT_PATH) and self.js.is_assertion(c[-1]) and \
            not tp.walk("ValidationTechnicalProfiles", "ValidationTechnicalProfile",
                        "Preconditions")

    def is_code(self, ident):
        return any(self.calls(v, CODE_PATH) for v in self.chain(ident))

    def records(self, ident):
        """True if the profile copies objectId to authyApprovedObjectId."""
        for node in self.js.nodes(ident):
            for ref in node.walk("OutputClaimsTransformations", "OutputClaimsTransformation"):
                ct = self.js.transformation(ref.attrs.get("ReferenceId", ""))
                if ct is not None and ct.attrs.get("TransformationMethod") == "CopyClaim" and \
                        [c.attrs.get("ClaimTypeReferenceId") for c in
                         ct.walk("InputClaims", "InputClaim")] == ["objectId"] and \
                        [c.attrs.get("ClaimTypeReferenceId") for c in
                         ct.walk("OutputClaims", "OutputClaim")] == [APPROVED_ACCOUNT]:
                    return True
        return False

    def registers(self, ident):
        return any(self.calls(v, REGISTER_PATH) for v in self.chain(ident) + [ident])

    def session(self, ident):
        tp = self.tp(ident)
        sm = tp.child("UseTechnicalProfileForSessionManagement") if tp is not None else None
        return sm.attrs.get("ReferenceId") if sm is not None else None

    def writes(self, ident, depth=0):
        """True if the profile (or a validation) writes to the directory."""
        if depth > 6:
            return False
        nodes = self.js.nodes(ident)
        if any("AzureActiveDirectoryProvider" in policy_paths.handler_of(n) for n in nodes) and \
                any(metadata(n).get("Operation") in ("Write", "DeleteClaimsPrincipal")
                    for n in nodes):
            return True
        return any(self.writes(v, depth + 1) for v in self.chain(ident))


def journey_of(pset, rp):
    ref = rp.root.walk("RelyingParty", "DefaultUserJourney")
    name = ref[0].attrs.get("ReferenceId") if ref else None
    ext = pset.policy("TrustFrameworkExtensions.xml")
    found = [j for j in ext.journeys() if j.attrs.get("Id") == name] if ext else []
    return name, (found[0] if found else None)


def check_gate(pg):
    """Common to every journey: verification (push, or a code instead) for the
    enrolled, and the approval assertion as the step right before SendClaims."""
    problems = []
    steps = pg.steps
    if not steps or steps[-1].attrs.get("Type") != "SendClaims":
        return ["the journey does not end with SendClaims"], [], []
    if sum(1 for s in steps if s.attrs.get("Type") == "SendClaims") != 1:
        problems.append("more than one SendClaims step")
    gates = [(i, ident) for i, step, ident in pg.find(pg.js.is_assertion)
             if not step.walk("Preconditions", "Precondition")]
    if not gates:
        problems.append("no unconditional approval assertion step before SendClaims")
    elif not pg.js.binds_account(gates[-1][1]):
        problems.append("the assertion step does not check that the approval is of this account "
                        "(%s equals objectId)" % APPROVED_ACCOUNT)
    else:
        for step in steps[gates[-1][0] + 1:-1]:
            if any("authyApproved" in pg.js.outputs(r) for r in policy_paths.exchanges(step)):
                problems.append("step %s may set authyApproved after the assertion" %
                                step.attrs.get("Order"))
    verify = pg.find(pg.is_verify)
    code = pg.find(pg.is_code)
    for _, step, ident in pg.find(lambda t: pg.js.asks_responder(t) and
                                  pg.tp(t) is not None and pg.chain(t)):
        problems += check_record(pg, ident)
    if len(verify) != 1 or not has_pre(verify[0][1], "ClaimsExist", [AUTHY_CLAIM], "false"):
        problems.append("verification step missing or not skipped without %s" % AUTHY_CLAIM)
    if len(code) != 1 or not has_pre(code[0][1], "ClaimEquals", ["authyMethod", "code"], "false"):
        problems.append("code step (verifytoken) missing or not skipped unless authyMethod is code")
    elif verify and code[0][0] < verify[0][0]:
        problems.append("the code step runs before the verification page that offers it")
    if verify:
        tp = pg.tp(verify[0][2])
        offered = [c.attrs.get("ClaimTypeReferenceId") for c in tp.walk("OutputClaims",
                                                                        "OutputClaim")]
        if "authyMethod" not in offered:
            problems.append("the verification page does not offer authyMethod (push or code)")
        outputs = [c.attrs.get("ClaimTypeReferenceId") for c in tp.walk("OutputClaims",
                                                                        "OutputClaim")]
        if "authyApproved" not in outputs:
            problems.append("the verification page does not output authyApproved")
    return problems, verify, code


def check_record(pg, ident):
    """A page that asks the responder records the approval's account after
    its last call, unconditionally, and passes it on to the journey."""
    chain = pg.chain(ident)
    asks = [i for i, v in enumerate(chain) if pg.js.asks_responder(v)]
    rec = [i for i, v in enumerate(chain) if pg.records(v)]
    tp = pg.tp(ident)
    uncond = {v.attrs.get("ReferenceId") for v in tp.walk("ValidationTechnicalProfiles",
                                                          "ValidationTechnicalProfile")
              if not v.walk("Preconditions", "Precondition")}
    outputs = [c.attrs.get("ClaimTypeReferenceId") for c in tp.walk("OutputClaims", "OutputClaim")]
    if not rec or rec[-1] < asks[-1] or chain[rec[-1]] not in uncond:
        return ["%s does not record the approval's account (objectId to %s) after its last call "
                "of the responder" % (ident, APPROVED_ACCOUNT)]
    if APPROVED_ACCOUNT not in outputs:
        return ["%s does not output %s" % (ident, APPROVED_ACCOUNT)]
    return []


def check_signin_like(pg, name):
    """Sign-in and profile edit: enrol the not-enrolled after verification,
    then (provider = verify) the push set-up page when factorStatus is none."""
    problems, verify, _ = check_gate(pg)
    enrol = pg.find(pg.is_enrol)
    setup = pg.find(pg.is_setup)
    if len(enrol) != 1 or not has_pre(enrol[0][1], "ClaimsExist", [AUTHY_CLAIM], "true"):
        problems.append("enrolment step missing or not skipped with %s" % AUTHY_CLAIM)
    elif verify and enrol[0][0] < verify[0][0]:
        problems.append("enrolment runs before verification: a new user would be asked twice")
    if len(setup) != 1 or not has_pre(setup[0][1], "ClaimEquals",
                                      ["authyFactorStatus", "none"], "false"):
        problems.append("push set-up step (wait, then assertion) missing or not skipped unless "
                        "authyFactorStatus is none")
    elif enrol and setup[0][0] < enrol[0][0]:
        problems.append("the push set-up step runs before enrolment")
    return ["%s: %s" % (name, p) for p in problems]


def check_reset(pg, name):
    """Password reset: a fresh approval (no SSO), never an enrolment or a push
    set-up (the mailbox must not bind a phone), a stop page for the not
    enrolled, and no directory write before the assertion."""
    problems, verify, code = check_gate(pg)
    for i, step, ident in pg.find(lambda t: pg.registers(t) or pg.is_setup(t)):
        problems.append("step %s (%s) enrols or sets up push on a password reset" %
                        (step.attrs.get("Order"), ident))
    for _, step, ident in verify + code:
        sm = pg.session(ident)
        if sm is None or not any("NoopSSOSessionProvider" in h
                                 for h in handlers(pg.pset, sm, set())):
            problems.append("%s uses session %s: a reset must push anew (SM-Noop)" % (ident, sm))
    stop = [(i, s, t) for i, s, t in pg.find(lambda t: True)
            if has_pre(s, "ClaimsExist", [AUTHY_CLAIM], "true")]
    if not stop or metadata(pg.tp(stop[0][2])).get("setting.showContinueButton") != "false":
        problems.append("no stop page (without Continue) for an account without %s" % AUTHY_CLAIM)
    return ["%s: %s" % (name, p) for p in problems]


def check_writes(pg, name):
    """No directory write before the approval assertion, except the enrolment
    page's own (it writes only after its wait)."""
    gate = [i for i, _, _ in pg.find(pg.js.is_assertion)]
    first = gate[0] if gate else len(pg.steps)
    return ["%s: step %s (%s) writes to the directory before the approval assertion" %
            (name, step.attrs.get("Order"), ident)
            for i, step, ident in pg.find(pg.writes)
            if i < first and not pg.is_enrol(ident) and name != "SignUpOrSignin.xml"]


def check_journeys(pset):
    """[(name, problems)] for the journeys of our relying parties."""
    results = []
    for rp in [p for p in pset.relying_parties() if p.ours]:
        name, journey = journey_of(pset, rp)
        if journey is None:
            results.append(("%s: journey %s is ours" % (rp.name, name),
                            ["journey '%s' is not defined in our extensions" % name]))
            continue
        pg = Pages(pset, journey)
        if rp.name == "PasswordReset.xml":
            probs = check_reset(pg, rp.name)
            what = "fresh approval, no enrolment, stop page for the not enrolled"
        else:
            probs = check_signin_like(pg, rp.name)
            what = "verify (push or code), enrol, set up push, assert before SendClaims"
        results.append(("%s (%s): %s" % (rp.name, name, what), probs))
        results.append(("%s (%s): no directory write before the approval" % (rp.name, name),
                        check_writes(pg, rp.name)))
    return results


OK = 200
APPROVED_REPLY = (OK, {"authyApproved": True})
NO_FACTOR = (OK, {"factorStatus": "none"})
PUSH = {"authyMethod": "push", "authyPhoneNumber": "+1 555 123 4567"}
CODE = {"authyMethod": "code", "authyToken": "1234567"}
# Chooses a code, and on the code page after two refused codes the push instead.
CODE_THEN_PUSH = dict(CODE, pages={"SelfAsserted-AuthyCode": {
    "authyMethod": ["code", "code", "push"]}})

# (relying party file, what, directory, responder answers per endpoint, user,
#  expected outcome, log lines that must appear in this order, log lines that must not,
#  and optionally options for start_run; their "kept" is the set of pages the SSO
#  session must hold when the run ends).
RUNS = [
    ("SignUpOrSignin.xml", "Authy: a new user enrols; the ID is stored only after the approval",
     {}, {REGISTER_PATH: [(OK, {"authyId": "1234567"})], WAIT_PATH: [APPROVED_REPLY]}, PUSH,
     "token", ["call register", "call waitforauthyapproval", "write", "assert", "token"],
     ["page SelfAsserted-AuthySetup", "page SelfAsserted-AuthyVerify"]),
    ("SignUpOrSignin.xml", "Verify: register, store the identity, set up push, approve, token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "8a1f"})],
          WAIT_PATH: [NO_FACTOR, NO_FACTOR, APPROVED_REPLY]}, PUSH,
     "token", ["call register", "call waitforauthyapproval", "write",
               "page SelfAsserted-AuthySetup", "call waitforauthyapproval",
               "call waitforauthyapproval", "assert", "token"], []),
    ("ProfileEdit.xml", "Verify: profile edit of a new user sets up push before the profile write",
     {}, {REGISTER_PATH: [(OK, {"authyId": "8a1f"})], WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]},
     PUSH, "token", ["page SelfAsserted-AuthySetup", "assert",
                     "write AAD-UserWriteProfileUsingObjectId", "token"], []),
    ("SignUpOrSignin.xml", "enrolled: a denied push keeps the user on the page; the next counts",
     {AUTHY_CLAIM: "1234567"}, {WAIT_PATH: [(409, {}), APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval", "call waitforauthyapproval",
      "assert", "token"], ["call register", "page SelfAsserted-AuthyEnrol"]),
    ("SignUpOrSignin.xml", "enrolled: a code from the app instead of the push",
     {AUTHY_CLAIM: "1234567"}, {CODE_PATH: [APPROVED_REPLY]}, CODE, "token",
     ["page SelfAsserted-AuthyVerify", "page SelfAsserted-AuthyCode", "call verifytoken",
      "assert", "token"], ["call waitforauthyapproval"]),
    ("SignUpOrSignin.xml", "enrolled: wrong codes only never give a token",
     {AUTHY_CLAIM: "1234567"}, {CODE_PATH: [(409, {})] * 4}, CODE, "stuck", [], ["token"]),
    ("SignUpOrSignin.xml", "enrolled: codes refused, then the push chosen on the code page",
     {AUTHY_CLAIM: "1234567"}, {CODE_PATH: [(409, {})] * 2, WAIT_PATH: [APPROVED_REPLY]},
     CODE_THEN_PUSH, "token",
     ["page SelfAsserted-AuthyCode", "call verifytoken", "call verifytoken",
      "call waitforauthyapproval", "assert", "token"], []),
    ("SignUpOrSignin.xml", "enrolled: the push chosen on the code page and not approved: no token",
     {AUTHY_CLAIM: "1234567"}, {WAIT_PATH: [(409, {})] * 4}, CODE_THEN_PUSH, "stuck",
     ["page SelfAsserted-AuthyCode", "call waitforauthyapproval"], ["token"]),
    ("SignUpOrSignin.xml", "a 200 of the wait without authyApproved: the page refuses to "
     "complete (fail closed)",
     {AUTHY_CLAIM: "1234567"}, {WAIT_PATH: [(OK, {})]}, PUSH, "stuck",
     ["call waitforauthyapproval", "copy", "assert AssertAuthyApproved"], ["token"],
     {"kept": set()}),
    ("SignUpOrSignin.xml", "a code accepted without authyApproved fails at the assertion "
     "(fail closed)",
     {AUTHY_CLAIM: "1234567"}, {CODE_PATH: [(OK, {})]}, CODE, "refused",
     ["page SelfAsserted-AuthyCode", "call verifytoken", "assert"], ["token"]),
    ("SignUpOrSignin.xml", "Verify: a factor never set up never gives a token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "8a1f"})], WAIT_PATH: [NO_FACTOR] * 6}, PUSH,
     "stuck", ["page SelfAsserted-AuthySetup"], ["token"]),
    ("PasswordReset.xml", "reset of an account without an Authy ID stops; nothing is enrolled",
     {}, {}, PUSH, "stopped", ["page SelfAsserted-AuthyResetNotEnrolled"],
     ["call register", "call waitforauthyapproval", "write", "token"]),
    ("PasswordReset.xml", "reset, Verify identity without a push factor: no set-up, no token",
     {AUTHY_CLAIM: "8a1f"}, {WAIT_PATH: [NO_FACTOR] * 6}, PUSH, "stuck",
     ["page SelfAsserted-AuthyVerifyReset"], ["page SelfAsserted-AuthySetup", "write", "token"]),
    ("PasswordReset.xml", "reset without an Authy ID, the stop page submitted by a crafted POST: "
     "the assertion refuses; no password is written",
     {}, {}, PUSH, "refused", ["page SelfAsserted-AuthyResetNotEnrolled", "assert"],
     ["call register", "call waitforauthyapproval", "write", "token"], {"forge": True}),
    ("PasswordReset.xml", "reset: codes refused, then the push chosen on the code page, "
     "asserted there",
     {AUTHY_CLAIM: "1234567"}, {CODE_PATH: [(409, {})] * 2, WAIT_PATH: [APPROVED_REPLY]},
     dict(CODE_THEN_PUSH, pages={"SelfAsserted-AuthyCodeReset": CODE_THEN_PUSH["pages"][
         "SelfAsserted-AuthyCode"]}), "token",
     ["page SelfAsserted-AuthyCodeReset", "call verifytoken", "call verifytoken",
      "call waitforauthyapproval", "assert", "write AAD-UserWritePasswordUsingObjectId",
      "token"], []),
    ("PasswordReset.xml", "reset, Verify: the push chosen on the code page without a push "
     "factor: refused on the page, no token",
     {AUTHY_CLAIM: "8a1f"}, {WAIT_PATH: [NO_FACTOR] * 6},
     dict(CODE, pages={"SelfAsserted-AuthyCodeReset": {"authyMethod": "push"}}), "stuck",
     ["page SelfAsserted-AuthyCodeReset", "call waitforauthyapproval", "assert"],
     ["page SelfAsserted-AuthySetup", "write", "token"]),
    ("PasswordReset.xml", "reset of an enrolled account: approval, then the new password",
     {AUTHY_CLAIM: "1234567"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["call waitforauthyapproval", "assert", "write AAD-UserWritePasswordUsingObjectId",
      "token"], []),
]


# Two accounts signing in, one after the other, in the same browser.
ACCOUNT_A = {"objectId": "aaaa-objectid-a", "email": "a@example.com"}
ACCOUNT_B = {"objectId": "bbbb-objectid-b", "email": "b@example.com"}
SIGNUP = dict(PUSH, email="new@example.com", newPassword="pw-Aa1!long",
              reenterPassword="pw-Aa1!long")
# Earlier runs whose SSO session a run continues: (relying party file,
# directory, responder answers, user, options); each must end with a token.
A_SIGNED_IN = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]},
               PUSH, {"claims": ACCOUNT_A})
A_SIGNED_IN_CODE = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"}, {CODE_PATH: [APPROVED_REPLY]},
                    CODE, {"claims": ACCOUNT_A})
A_SIGNED_UP = ("SignUpOrSignin.xml", {}, {REGISTER_PATH: [(OK, {"authyId": "1111111"})],
                                          WAIT_PATH: [APPROVED_REPLY]}, SIGNUP,
               {"start": "SignUpWithLogonEmailExchange", "claims": {}})
# Account A enrols at a sign-in, then signs in again in that session: the
# verification page, which did not run at the enrolment, asks once.
A_ENROLLED = ("SignUpOrSignin.xml", {}, {REGISTER_PATH: [(OK, {"authyId": "1111111"})],
                                         WAIT_PATH: [APPROVED_REPLY]}, PUSH, {"claims": ACCOUNT_A})
A_ENROLLED_VERIFIED = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"},
                       {WAIT_PATH: [APPROVED_REPLY]}, PUSH,
                       {"claims": ACCOUNT_A, "session_from": A_ENROLLED})
# provider = verify: account A enrols (the wait answers factorStatus none),
# sets up push and approves; then signs in again in that session, where the
# verification page asks once. B2C cannot update a claim once the session
# holds it, so no page may put the enrolment's authyApproved false there;
# the set-up page, which runs only after an enrolment, keeps nothing either.
V_ENROLLED = ("SignUpOrSignin.xml", {}, {REGISTER_PATH: [(OK, {"authyId": "1111111"})],
                                         WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]}, PUSH,
              {"claims": ACCOUNT_A})
V_ENROLLED_VERIFIED = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"},
                       {WAIT_PATH: [APPROVED_REPLY]}, PUSH,
                       {"claims": ACCOUNT_A, "session_from": V_ENROLLED})
# provider = verify: account A enrols (the wait answers factorStatus none) and
# leaves at the set-up page without approving. Neither page joins the session.
A_LEFT_AT_SETUP = ("SignUpOrSignin.xml", {}, {REGISTER_PATH: [(OK, {"authyId": "1111111"})],
                                              WAIT_PATH: [NO_FACTOR] * 5}, PUSH,
                   {"claims": ACCOUNT_A})
# provider = verify: account A's identity has lost its push factor. A signs
# in; the wait answers factorStatus none, the page keeps A there; A sets up
# push in the app and presses Continue again; that push is approved.
A_LOST_FACTOR = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"},
                 {WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]}, PUSH, {"claims": ACCOUNT_A})
# The same, with a code chosen on the verification page and then the push on
# the code page.
CODE_PAGE_PUSH = dict(CODE, pages={"SelfAsserted-AuthyCode": {"authyMethod": "push"}})
A_LOST_FACTOR_CODE_PAGE = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"},
                           {WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]}, CODE_PAGE_PUSH,
                           {"claims": ACCOUNT_A})
# Account A signs in, chooses a code on the verification page, which joins the
# session, and leaves at the code page without a code.
A_LEFT_AT_CODE = ("SignUpOrSignin.xml", {AUTHY_CLAIM: "1111111"}, {}, CODE,
                  {"claims": ACCOUNT_A})
# A session kept from before approvals named their account: the approval
# alone, as SM-AuthyMFA persisted it then.
OLD_SESSION = {"members": {"SelfAsserted-AuthyVerify"},
               "claims": {"SM-AuthyMFA": {AUTHY_CLAIM: "1111111", "authyApproved": True,
                                          "authyMethod": "push"}}}
# A session kept from before the verification page asserted the approval:
# account A's page completed on factorStatus none (a lost push factor), then
# A set push up again on the set-up page; the session holds the page's false.
OLD_LOST_FACTOR_SESSION = {
    "members": {"SelfAsserted-AuthyVerify", "SelfAsserted-AuthySetup"},
    "claims": {"SM-AuthyMFA": {"authyApproved": False,
                               "authyApprovedObjectId": ACCOUNT_A["objectId"],
                               "authyMethod": "push", "authyFactorStatus": "none"}}}

RUNS += [
    ("SignUpOrSignin.xml", "sign-up: the account is written, then enrolled, approved and "
     "recorded; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "1234567"})], WAIT_PATH: [APPROVED_REPLY]}, SIGNUP,
     "token", ["page LocalAccountSignUpWithLogonEmail", "write AAD-UserWriteUsingLogonEmail",
               "page SelfAsserted-AuthyEnrol", "call register", "call waitforauthyapproval",
               "copy", "write AAD-UserWriteAuthyIdUsingObjectId", "assert", "assert", "token"],
     ["skipped", "page SelfAsserted-AuthyVerify"],
     {"start": "SignUpWithLogonEmailExchange", "claims": {}}),
    ("SignUpOrSignin.xml", "social sign-up: the account is written, then enrolled with its "
     "objectId, approved and recorded; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "1234567"})], WAIT_PATH: [APPROVED_REPLY]}, PUSH,
     "token", ["idp Facebook-OAUTH", "page SelfAsserted-Social",
               "write AAD-UserWriteUsingAlternativeSecurityId", "page SelfAsserted-AuthyEnrol",
               "call register", "call waitforauthyapproval", "copy",
               "write AAD-UserWriteAuthyIdUsingObjectId", "assert", "token"],
     ["missing", "page SelfAsserted-AuthyVerify"], {"start": "FacebookExchange", "claims": {}}),
    ("ProfileEdit.xml", "profile edit of an account without an Authy ID: enrolled, approved; "
     "the profile is written; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "1234567"})], WAIT_PATH: [APPROVED_REPLY]}, PUSH,
     "token", ["page SelfAsserted-AuthyEnrol", "call register", "call waitforauthyapproval",
               "write AAD-UserWriteAuthyIdUsingObjectId", "assert",
               "write AAD-UserWriteProfileUsingObjectId", "token"],
     ["missing", "page SelfAsserted-AuthyVerify"], {"claims": ACCOUNT_A}),
    ("SignUpOrSignin.xml", "Verify: sign-up, set up push, approve; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "8a1f"})], WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]},
     SIGNUP, "token", ["write AAD-UserWriteUsingLogonEmail", "page SelfAsserted-AuthyEnrol",
                       "page SelfAsserted-AuthySetup", "copy", "assert", "token"], ["skipped"],
     {"start": "SignUpWithLogonEmailExchange", "claims": {}}),
    ("SignUpOrSignin.xml", "SSO: a silent sign-in of the account that approved; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "assert", "token"], ["call", "skipped"],
     {"claims": ACCOUNT_A, "session_from": A_SIGNED_IN}),
    ("SignUpOrSignin.xml", "SSO: the first sign-in after an enrolment in the session shows the "
     "verification page once; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval", "assert", "token"],
     ["skipped", "sso SelfAsserted-AuthyVerify"],
     {"claims": ACCOUNT_A, "session_from": A_ENROLLED}),
    ("SignUpOrSignin.xml", "SSO: the sign-ins after that one; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "token"], ["call", "skipped"],
     {"claims": ACCOUNT_A, "session_from": A_ENROLLED_VERIFIED}),
    ("SignUpOrSignin.xml", "Verify SSO: the first sign-in after an enrolment and push set-up "
     "in the session shows the verification page once; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval", "assert", "token"],
     ["skipped", "sso SelfAsserted-AuthyVerify"],
     {"claims": ACCOUNT_A, "session_from": V_ENROLLED}),
    ("SignUpOrSignin.xml", "Verify SSO: the sign-ins after that one; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "token"], ["call", "skipped"],
     {"claims": ACCOUNT_A, "session_from": V_ENROLLED_VERIFIED}),
    ("ProfileEdit.xml", "Verify SSO: a profile edit after those sign-ins; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "write AAD-UserWriteProfileUsingObjectId",
      "token"], ["call", "skipped"],
     {"claims": ACCOUNT_A, "session_from": V_ENROLLED_VERIFIED}),
    ("SignUpOrSignin.xml", "SSO: a silent sign-in after a code; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, CODE, "token",
     ["sso SelfAsserted-AuthyVerify", "sso SelfAsserted-AuthyCode", "assert", "token"],
     ["call", "skipped"], {"claims": ACCOUNT_A, "session_from": A_SIGNED_IN_CODE}),
    ("ProfileEdit.xml", "SSO: a profile edit of the account that approved; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "write AAD-UserWriteProfileUsingObjectId",
      "token"], ["call", "skipped"], {"claims": ACCOUNT_A, "session_from": A_SIGNED_IN}),
    ("PasswordReset.xml", "SSO: a reset of the account that approved pushes anew; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerifyReset", "call waitforauthyapproval", "copy", "assert",
      "write AAD-UserWritePasswordUsingObjectId", "token"], ["sso", "skipped"],
     {"claims": ACCOUNT_A, "session_from": A_SIGNED_IN}),
    ("SignUpOrSignin.xml", "SSO: another account (prompt=login) restores the first one's "
     "approval: no token",
     {AUTHY_CLAIM: "2222222"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "refused",
     ["sso SelfAsserted-AuthyVerify", "assert AssertAuthyApproved",
      "assert AssertAuthyApprovedAccount"], ["call", "token", "skipped"],
     {"claims": ACCOUNT_B, "session_from": A_SIGNED_IN}),
    ("SignUpOrSignin.xml", "SSO: another account, not enrolled, after the first one's "
     "enrolment: the enrolment page (no SSO) enrols and approves the second account itself",
     {}, {REGISTER_PATH: [(OK, {"authyId": "2222222"})],
          (WAIT_PATH, "2222222"): [APPROVED_REPLY]}, PUSH,
     "token", ["page SelfAsserted-AuthyEnrol", "call register",
               "call waitforauthyapproval authyId=2222222", "copy",
               "write AAD-UserWriteAuthyIdUsingObjectId", "assert", "assert", "token"],
     ["sso SelfAsserted-AuthyEnrol", "skipped"],
     {"claims": ACCOUNT_B, "session_from": A_SIGNED_UP}),
    ("ProfileEdit.xml", "SSO: a profile edit of another account restores the first one's "
     "approval: no write, no token",
     {AUTHY_CLAIM: "2222222"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "refused",
     ["sso SelfAsserted-AuthyVerify", "assert AssertAuthyApprovedAccount"],
     ["call", "write", "token", "skipped"], {"claims": ACCOUNT_B, "session_from": A_SIGNED_IN}),
    ("SignUpOrSignin.xml", "Verify SSO: another account (prompt=login), not enrolled, in a "
     "session of the first one: its set-up page pushes to its own new ID, never to the first "
     "one's phone, whose approval would be recorded for the second account; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "2222222"})],
          (WAIT_PATH, "2222222"): [NO_FACTOR, APPROVED_REPLY],
          (WAIT_PATH, "1111111"): [APPROVED_REPLY] * 4}, PUSH, "token",
     ["page SelfAsserted-AuthyEnrol", "call register", "call waitforauthyapproval authyId=2222222",
      "page SelfAsserted-AuthySetup", "call waitforauthyapproval authyId=2222222", "assert",
      "assert", "token"], ["call waitforauthyapproval authyId=1111111", "sso", "skipped"],
     {"claims": ACCOUNT_B, "session_from": A_SIGNED_IN}),
    ("SignUpOrSignin.xml", "Verify SSO: another account (prompt=login), not enrolled, in a "
     "session where the first one enrolled and set up push: its own set-up page asks it, not "
     "the first one's approval restored; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "2222222"})],
          (WAIT_PATH, "2222222"): [NO_FACTOR, APPROVED_REPLY],
          (WAIT_PATH, "1111111"): [APPROVED_REPLY] * 4}, PUSH, "token",
     ["page SelfAsserted-AuthyEnrol", "call waitforauthyapproval authyId=2222222",
      "page SelfAsserted-AuthySetup", "call waitforauthyapproval authyId=2222222", "assert",
      "assert", "token"], ["call waitforauthyapproval authyId=1111111", "sso", "skipped"],
     {"claims": ACCOUNT_B, "session_from": V_ENROLLED}),
    ("SignUpOrSignin.xml", "Verify SSO: the account enrols again in the session where it "
     "enrolled and set up push (support cleared its ID): the set-up page asks for the new "
     "factor's approval, not the session's; token",
     {}, {REGISTER_PATH: [(OK, {"authyId": "1111111"})], WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]},
     PUSH, "token", ["page SelfAsserted-AuthyEnrol", "page SelfAsserted-AuthySetup",
                     "call waitforauthyapproval", "assert", "assert", "token"], ["sso", "skipped"],
     {"claims": ACCOUNT_A, "session_from": V_ENROLLED}),
    ("SignUpOrSignin.xml", "Verify SSO: another account (prompt=login) after the first one "
     "left at the set-up page of its enrolment, which leaves nothing in the session: the "
     "verification page pushes to the second account's own ID; token",
     {AUTHY_CLAIM: "2222222"}, {(WAIT_PATH, "2222222"): [APPROVED_REPLY],
                                (WAIT_PATH, "1111111"): [APPROVED_REPLY] * 4}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval authyId=2222222", "assert",
      "token"], ["call waitforauthyapproval authyId=1111111", "sso", "skipped"],
     {"claims": ACCOUNT_B, "session_left": A_LEFT_AT_SETUP, "kept": {"SelfAsserted-AuthyVerify"}}),
    ("SignUpOrSignin.xml", "SSO: another account (prompt=login) in a session that the first "
     "one left at the code page: the code is checked for the second account's own ID, never "
     "for the first one's, whose code would be recorded for the second account",
     {AUTHY_CLAIM: "2222222"}, {(CODE_PATH, "1111111"): [APPROVED_REPLY] * 4}, CODE, "stuck",
     ["sso SelfAsserted-AuthyVerify", "page SelfAsserted-AuthyCode",
      "call verifytoken authyId=2222222"], ["call verifytoken authyId=1111111", "token"],
     {"claims": ACCOUNT_B, "session_left": A_LEFT_AT_CODE}),
    ("SignUpOrSignin.xml", "Verify SSO: the account that left at the set-up page of its "
     "enrolment signs in again: the verification page asks it; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval authyId=1111111", "assert",
      "token"], ["sso", "page SelfAsserted-AuthySetup", "skipped"],
     {"claims": ACCOUNT_A, "session_left": A_LEFT_AT_SETUP}),
    ("SignUpOrSignin.xml", "Verify: an identity that lost its push factor: the verification "
     "page refuses to complete on factorStatus none, and completes once the push set up again "
     "is approved; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]}, PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval", "copy",
      "assert AssertAuthyApproved", "call waitforauthyapproval", "copy", "assert", "assert",
      "assert", "assert", "token"], ["page SelfAsserted-AuthySetup", "skipped"],
     {"claims": ACCOUNT_A, "kept": {"SelfAsserted-AuthyVerify"},
      "session_claims": {"authyApproved": True, "authyFactorStatus": "verified"}}),
    ("SignUpOrSignin.xml", "Verify: the verification page never completes while the wait "
     "answers factorStatus none: no token, the page not in the session",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [NO_FACTOR] * 6}, PUSH, "stuck",
     ["page SelfAsserted-AuthyVerify", "call waitforauthyapproval", "copy",
      "assert AssertAuthyApproved"], ["page SelfAsserted-AuthySetup", "token"],
     {"claims": ACCOUNT_A, "kept": set()}),
    ("SignUpOrSignin.xml", "Verify SSO: a silent sign-in after a sign-in that set up a lost "
     "push factor again on the verification page; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "assert", "token"],
     ["call", "page", "skipped"], {"claims": ACCOUNT_A, "session_from": A_LOST_FACTOR}),
    ("ProfileEdit.xml", "Verify SSO: a profile edit after that sign-in; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "assert", "assert",
      "write AAD-UserWriteProfileUsingObjectId", "token"],
     ["call", "page SelfAsserted-Authy", "skipped"],
     {"claims": ACCOUNT_A, "session_from": A_LOST_FACTOR}),
    ("SignUpOrSignin.xml", "Verify: a lost push factor, a code chosen, then the push on the "
     "code page: the code page refuses to complete on factorStatus none, and completes once "
     "the push set up again is approved; token",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [NO_FACTOR, APPROVED_REPLY]}, CODE_PAGE_PUSH, "token",
     ["page SelfAsserted-AuthyVerify", "page SelfAsserted-AuthyCode", "call waitforauthyapproval",
      "copy", "assert AssertAuthyApproved", "call waitforauthyapproval", "copy", "assert",
      "assert", "assert", "assert", "token"],
     ["page SelfAsserted-AuthySetup", "call verifytoken", "skipped"],
     {"claims": ACCOUNT_A, "kept": {"SelfAsserted-AuthyVerify", "SelfAsserted-AuthyCode"},
      "session_claims": {"authyApproved": True, "authyFactorStatus": "verified"}}),
    ("SignUpOrSignin.xml", "Verify: the push chosen on the code page never completes it while "
     "the wait answers factorStatus none: no token, the code page not in the session",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [NO_FACTOR] * 6}, CODE_PAGE_PUSH, "stuck",
     ["page SelfAsserted-AuthyCode", "call waitforauthyapproval", "copy",
      "assert AssertAuthyApproved"], ["page SelfAsserted-AuthySetup", "token"],
     {"claims": ACCOUNT_A, "kept": {"SelfAsserted-AuthyVerify"}}),
    ("SignUpOrSignin.xml", "Verify SSO: a silent sign-in after a sign-in that set up a lost "
     "push factor again through the code page's push; token, no push",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "sso SelfAsserted-AuthyCode", "assert", "assert", "token"],
     ["call", "page", "skipped"], {"claims": ACCOUNT_A, "session_from": A_LOST_FACTOR_CODE_PAGE}),
    ("SignUpOrSignin.xml", "Verify SSO: a session from before the verification page asserted "
     "the approval, which kept its false of a lost push factor: the set-up page, out of the "
     "session, asks for a push each time; token once it is approved",
     {AUTHY_CLAIM: "1111111"}, {WAIT_PATH: [APPROVED_REPLY]}, PUSH, "token",
     ["sso SelfAsserted-AuthyVerify", "page SelfAsserted-AuthySetup",
      "call waitforauthyapproval authyId=1111111", "assert", "token"],
     ["page SelfAsserted-AuthyVerify", "skipped"],
     {"claims": ACCOUNT_A, "session": OLD_LOST_FACTOR_SESSION}),
    ("SignUpOrSignin.xml", "SSO: a session from before approvals named their account: no token",
     {AUTHY_CLAIM: "1111111"}, {}, PUSH, "refused",
     ["sso SelfAsserted-AuthyVerify", "assert AssertAuthyApprovedAccount"],
     ["call", "token", "skipped"], {"claims": ACCOUNT_A, "session": OLD_SESSION}),
]


def in_order(log, want):
    """The first line of want that is not found, in order, in log; else None."""
    i = 0
    for line in want:
        while i < len(log) and not log[i].startswith(line):
            i += 1
        if i == len(log):
            return line
        i += 1
    return None


def start_run(pset, js, rp_name, directory, replies, user, opts):
    """A policy_paths.Run of our relying party's journey, not yet run; with
    opts["session_from"], in the SSO session that earlier run left (None,
    problems) if that run gave no token; with opts["session_left"], in the
    session of an earlier run that the user left on a page (it ended
    'stuck'): B2C keeps each page that ran in the session, also when the
    journey did not end."""
    rp = [p for p in pset.relying_parties() if p.ours and p.name == rp_name]
    _, journey = journey_of(pset, rp[0]) if rp else (None, None)
    if journey is None:
        return None, ["journey of %s not found" % rp_name]
    session = opts.get("session")
    for key, want in (("session_from", "token"), ("session_left", "stuck")):
        if key not in opts:
            continue
        before, problems = start_run(pset, js, *opts[key])
        if before is None or before.run() != want:
            return None, problems or ["the earlier run did not end '%s': %s" %
                                      (want, before.log)]
        session = before.session
    return policy_paths.Run(js, journey, directory, replies, user,
                            forge=opts.get("forge", False), claims=opts.get("claims"),
                            session=session, start=opts.get("start")), []


def check_runs(pset, mode="raw"):
    """[(name, problems)]: each journey run with given responder answers; on
    the Verify build (mode verify) also that no run sends a phone number,
    while the runs that enrol still call register."""
    js = policy_paths.Journeys(pset)
    results = []
    prefix = "" if mode == "raw" else mode + ": "
    registers, phones = 0, []
    for rp_name, what, directory, replies, user, expect, order, never, *opts in RUNS:
        run, problems = start_run(pset, js, rp_name, directory, replies, user,
                                  opts[0] if opts else {})
        if run is None:
            results.append(("%srun %s: %s" % (prefix, rp_name, what), problems))
            continue
        outcome = run.run()
        for path, body in run.sent:
            registers += path == REGISTER_PATH
            if PHONE_CLAIMS & set(body):
                phones.append("run %s: %s: sent %s to %s" %
                              (rp_name, what, sorted(PHONE_CLAIMS & set(body)), path))
        problems = []
        if outcome != expect:
            problems.append("ended '%s', expected '%s'" % (outcome, expect))
        missing = in_order(run.log, order)
        if missing:
            problems.append("'%s' missing or out of order" % missing)
        problems += ["'%s' happened" % n for n in never
                     if any(line.startswith(n) for line in run.log)]
        if problems:
            problems.append("log: %s" % run.log)
        results.append(("%srun %s: %s" % (prefix, rp_name, what), problems))
        held = run.session["claims"].get("SM-AuthyMFA", {})
        for claim, want in (opts[0] if opts else {}).get("session_claims", {}).items():
            results.append(("%srun %s: %s: SSO: the session keeps %s %r" %
                            (prefix, rp_name, what, claim, want),
                            [] if held.get(claim) == want else
                            ["the session keeps %s %r" % (claim, held.get(claim))]))
        kept = (opts[0] if opts else {}).get("kept")
        if kept is not None:
            results.append(("%srun %s: %s: SSO: the pages the session keeps" %
                            (prefix, rp_name, what),
                            [] if run.session["members"] == kept else
                            ["the session keeps %s, expected %s" %
                             (sorted(run.session["members"]), sorted(kept))]))
    if mode == "verify":
        results.append(("verify: the runs enrol without sending a phone number",
                        phones + ([] if registers else ["no run called register"])))
    return results


def check_session_claims(pset):
    """The MFA session keeps the approval and what the journey branches on,
    but not the Authy ID: restored from a page that another account left in
    the session, it would send this journey's push or code check to that
    account's phone (each journey reads its own account's ID instead)."""
    ext = pset.policy("TrustFrameworkExtensions.xml")
    sm = [tp for tp in ext.technical_profiles() if tp.attrs.get("Id") == "SM-AuthyMFA"]
    if not sm:
        return ["SM-AuthyMFA is not defined"]
    kept = {c.attrs.get("ClaimTypeReferenceId") for c in sm[0].walk("PersistedClaims",
                                                                    "PersistedClaim")}
    want = {"authyApproved", APPROVED_ACCOUNT, "authyMethod", "authyFactorStatus"}
    return ["SM-AuthyMFA does not persist %s" % c for c in sorted(want - kept)] + \
        ["SM-AuthyMFA persists %s, which a later page would send for another account" % c
         for c in sorted(kept & {AUTHY_CLAIM})]


def handlers(pset, ident, seen):
    """Protocol handlers of a technical profile, following includes."""
    if ident.lower() in seen:
        return []
    seen.add(ident.lower())
    found = []
    for node in pset.tp_nodes(ident):
        if node.child("Protocol") is not None:
            found.append(node.child("Protocol").attrs.get("Handler", ""))
        inc = node.child("IncludeTechnicalProfile")
        if inc is not None:
            found += handlers(pset, inc.attrs.get("ReferenceId", ""), seen)
    return found


def check_sessions(pset):
    """Session management profiles in use are real SSO providers."""
    problems = []
    for pol in pset.policies:
        for node, ident in ref_tps(pol):
            if node.tag != "UseTechnicalProfileForSessionManagement":
                continue
            found = handlers(pset, ident, set())
            if pset.tp_nodes(ident) and \
                    not any(h.startswith("Web.TPEngine.SSO.") for h in found):
                problems.append("%s: '%s' is not a session provider" % (node.where(), ident))
    return problems


def check_extension_app(pset, mode):
    ext = pset.policy("TrustFrameworkExtensions.xml")
    commons = [tp for tp in ext.technical_profiles() if tp.attrs.get("Id") == "AAD-Common"]
    if not commons:
        return ["AAD-Common is not overridden with the b2c-extensions-app IDs"]
    meta = metadata(commons[0])
    want = {"ClientId": "{EXTENSIONS_APP_ID}", "ApplicationObjectId": "{EXTENSIONS_OBJECT_ID}"}
    problems = []
    for key, placeholder in want.items():
        expect = placeholder if mode == "raw" else TEST_GUID
        if meta.get(key) != expect:
            problems.append("AAD-Common %s is '%s', expected '%s'" % (key, meta.get(key), expect))
    claims = ext.root.walk("BuildingBlocks", "ClaimsSchema", "ClaimType")
    if not any(c.attrs.get("Id") == AUTHY_CLAIM and c.child("DataType") is not None and
               c.child("DataType").text == "string" for c in claims):
        problems.append("ClaimType %s (string) is not defined in our extensions" % AUTHY_CLAIM)
    return problems


def check_placeholders(pset, mode):
    problems = []
    for pol in pset.policies:
        if not pol.ours:
            continue
        with open(pol.path, encoding="utf-8") as f:
            text = f.read()
        if mode == "raw":
            need = ["yourtenant.onmicrosoft.com"]
            if pol.name == "TrustFrameworkExtensions.xml":
                need = PLACEHOLDERS
            problems += ["%s: placeholder %s missing" % (pol.name, p)
                         for p in need if p not in text]
        else:
            problems += ["%s: placeholder %s left" % (pol.name, p)
                         for p in PLACEHOLDERS if p in text]
            if pol.tenant != TEST_TENANT + ".onmicrosoft.com":
                problems.append("%s: TenantId is '%s'" % (pol.name, pol.tenant))
    return problems


# Metadata keys that Microsoft's reference documents for each kind of technical
# profile (RESTful, self-asserted, Microsoft Entra ID, claims transformation) and
# for a content definition. B2C ignores a key it does not know, so a misspelled
# one (UserMessageIfRequestTimeOut) silently drops the setting.
DOCUMENTED_METADATA = {
    "RestfulProvider": {
        "ServiceUrl", "AuthenticationType", "AllowInsecureAuthInProduction", "SendClaimsIn",
        "ClaimsFormat", "ClaimUsedForRequestPayload", "DebugMode",
        "IncludeClaimResolvingInClaimsHandling", "ResolveJsonPathsInJsonTokens",
        "UseClaimAsBearerToken", "DefaultUserMessageIfRequestFailed",
        "UserMessageIfCircuitOpen", "UserMessageIfDnsResolutionFailed",
        "UserMessageIfRequestTimeout"},
    "SelfAssertedAttributeProvider": {
        "ContentDefinitionReferenceId", "setting.operatingMode",
        "AllowGenerationOfClaimsWithNullValues", "EnforceEmailVerification",
        "setting.retryLimit", "SignUpTarget", "setting.showCancelButton",
        "setting.showContinueButton", "setting.showSignupLink",
        "setting.forgotPasswordLinkLocation", "setting.forgotPasswordLinkOverride",
        "setting.enableRememberMe", "setting.inputVerificationDelayTimeInMilliseconds",
        "IncludeClaimResolvingInClaimsHandling", "IpAddressClaimReferenceId",
        "UserMessageIfClaimsTransformationBooleanValueIsNotEqual",
        "UserMessageIfClaimsTransformationStringsAreNotEqual"},
    "AzureActiveDirectoryProvider": {
        "Operation", "RaiseErrorIfClaimsPrincipalDoesNotExist",
        "RaiseErrorIfClaimsPrincipalAlreadyExists", "ApplicationObjectId", "ClientId",
        "IncludeClaimResolvingInClaimsHandling", "UserMessageIfClaimsPrincipalAlreadyExists",
        "UserMessageIfClaimsPrincipalDoesNotExist"},
    "ClaimsTransformationProtocolProvider": {
        "IncludeClaimResolvingInClaimsHandling", "ContentDefinitionReferenceId"},
}
CONTENT_METADATA = {"DisplayName"}
# Self-asserted keys with a free suffix: language.<string id> overrides one UI string.
METADATA_PREFIXES = ("language.",)
# What our pages may ask the user for; everything else comes from a validation
# profile or a default, never from the browser.
USER_INPUT_CLAIMS = {"authyPhoneNumber", "authyMethod", "authyToken", "authyApprovalPrompt"}


def provider_of(pset, ident):
    """The short name of a technical profile's protocol handler, or ''."""
    for handler in handlers(pset, ident, set()):
        name = handler.split(",")[0].rsplit(".", 1)[-1]
        if name:
            return name
    return ""


def check_metadata_keys(pset):
    """Every metadata key in our files is one the reference documents for
    its kind of technical profile (or content definition)."""
    problems = []
    for pol in pset.policies:
        if not pol.ours:
            continue
        for tp in pol.technical_profiles():
            known = DOCUMENTED_METADATA.get(provider_of(pset, tp.attrs.get("Id", "")))
            if known is None:
                continue
            for item in tp.walk("Metadata", "Item"):
                key = item.attrs.get("Key", "")
                if key not in known and not key.startswith(METADATA_PREFIXES):
                    problems.append("%s: '%s' is not a metadata key of %s (technical profile %s)"
                                    % (item.where(), key, provider_of(pset, tp.attrs.get("Id")),
                                       tp.attrs.get("Id")))
        for cd in pol.root.walk("BuildingBlocks", "ContentDefinitions", "ContentDefinition"):
            for item in cd.walk("Metadata", "Item"):
                if item.attrs.get("Key", "") not in CONTENT_METADATA:
                    problems.append("%s: '%s' is not a metadata key of a content definition"
                                    % (item.where(), item.attrs.get("Key")))
    return problems


def claim_type(pset, claim, child):
    """The text of a child element of a claim's ClaimType ('' if none)."""
    for node in pset.defs.get("claim", {}).get(claim, []):
        if node.child(child) is not None:
            return (node.child(child).text or "").strip()
    return ""


def check_boolean_preconditions(pset):
    """A ClaimEquals precondition compares a boolean claim's value as text,
    which B2C writes True or False: 'true' never matches."""
    problems = []
    for pol in pset.policies:
        if not pol.ours:
            continue
        for pre in [n for n in pol.root.iter() if n.tag == "Precondition"]:
            values = [(v.text or "").strip() for v in pre.kids("Value")]
            if pre.attrs.get("Type") != "ClaimEquals" or len(values) < 2:
                continue
            if claim_type(pset, values[0], "DataType") == "boolean" and \
                    values[1] not in ("True", "False"):
                problems.append("%s: ClaimEquals compares the boolean %s with '%s', which "
                                "never matches (B2C compares True or False)"
                                % (pre.where(), values[0], values[1]))
    return problems


def output_claims(pset, ident, seen=None):
    """The claims a technical profile outputs, following includes."""
    seen = set() if seen is None else seen
    if ident.lower() in seen:
        return set()
    seen.add(ident.lower())
    found = set()
    for node in pset.tp_nodes(ident):
        found |= {c.attrs.get("ClaimTypeReferenceId") for c in node.walk("OutputClaims",
                                                                          "OutputClaim")}
        inc = node.child("IncludeTechnicalProfile")
        if inc is not None:
            found |= output_claims(pset, inc.attrs.get("ReferenceId", ""), seen)
    return found


def check_pages(pset):
    """What our self-asserted pages show, as the reference describes it: an
    output claim is shown (and taken from the browser) unless a validation
    profile of the page outputs it or it has a default. Each shown claim needs
    a UserInputType and must be one the user may give; a page that shows
    nothing is skipped by B2C, and its validation profiles never run."""
    problems = []
    for pol in pset.policies:
        if not pol.ours:
            continue
        for tp in pol.technical_profiles():
            ident = tp.attrs.get("Id", "")
            outs = tp.walk("OutputClaims", "OutputClaim")
            if provider_of(pset, ident) != "SelfAssertedAttributeProvider" or not outs or \
                    tp.child("DisplayClaims") is not None:
                continue
            produced = set()
            for v in tp.walk("ValidationTechnicalProfiles", "ValidationTechnicalProfile"):
                produced |= output_claims(pset, v.attrs.get("ReferenceId", ""))
            shown = [c.attrs.get("ClaimTypeReferenceId") for c in outs
                     if c.attrs.get("ClaimTypeReferenceId") not in produced and
                     c.attrs.get("DefaultValue") is None]
            if not shown:
                problems.append("%s: page %s shows no claim: B2C skips it, and its validation "
                                "profiles never run" % (tp.where(), ident))
            for claim in shown:
                if claim not in USER_INPUT_CLAIMS:
                    problems.append("%s: page %s shows %s: the user could type it" %
                                    (tp.where(), ident, claim))
                elif not claim_type(pset, claim, "UserInputType"):
                    problems.append("%s: page %s shows %s, which has no UserInputType" %
                                    (tp.where(), ident, claim))
    return problems


def check_no_phone(pset):
    """The Verify build asks for no phone number: no claim of ours is a phone
    (by its id, or a TextBox with the phone's help), no page shows one, and no
    REST profile sends phoneNumber or countryCode."""
    problems = []
    for pol in pset.policies:
        if not pol.ours:
            continue
        for node in pol.root.iter():
            for attr in ("Id", "ClaimTypeReferenceId", "ElementId"):
                if "phone" in node.attrs.get(attr, "").lower():
                    problems.append("%s: %s %s='%s'" % (node.where(), node.tag, attr,
                                                        node.attrs[attr]))
        for tp in rest_profiles(pol):
            for node, name, claim in claim_names(tp, "InputClaims", "InputClaim"):
                if name in PHONE_CLAIMS:
                    problems.append("%s: %s sends %s (from %s)" %
                                    (node.where(), tp.attrs.get("Id"), name, claim))
    return problems


# Where an identifier, not a text for people, may say Authy: attributes that
# name or refer to something, and the PolicyId of a layered build. AdminHelpText
# is for administrators in the portal.
ID_TEXT_TAGS = {"PolicyId", "AdminHelpText"}


def visible_texts(pol):
    """[(node, where, text)]: every text of a policy file but identifiers and
    comments (which the parser drops): element texts, and attribute values
    other than ids and references (DefaultValue prompts, Text, HelpText)."""
    out = []
    for node in pol.root.iter():
        if node.tag not in ID_TEXT_TAGS and (node.text or "").strip():
            out.append((node, node.tag, node.text.strip()))
        for attr, value in node.attrs.items():
            if not attr.endswith("Id") and attr not in ("PublicPolicyUri", "Handler"):
                out.append((node, "%s@%s" % (node.tag, attr), value))
    return out


def check_app_named(pset, app_name):
    """No text a user may see in the Verify build names Authy (ids may), and
    the pages name the app: the prompt of every page (the set-up page's
    sends the user to the app to set up push), and the page texts of the
    enrolment page."""
    problems = []
    named = set()
    for pol in pset.policies:
        if not pol.ours:
            continue
        for node, where, text in visible_texts(pol):
            if "Authy" in text:
                problems.append("%s: %s names Authy: '%s'" % (node.where(), where, text[:80]))
            if app_name in text:
                named.add((node.tag, node.attrs.get("ClaimTypeReferenceId") or
                           node.attrs.get("StringId") or ""))
            elif where == "InputClaim@DefaultValue" and \
                    node.attrs.get("ClaimTypeReferenceId") == "authyApprovalPrompt":
                problems.append("%s: a page's prompt does not name the app: '%s'" %
                                (node.where(), text[:80]))
    for want in (("InputClaim", "authyApprovalPrompt"), ("LocalizedString", "initial_intro"),
                 ("LocalizedString", "preloader_alt")):
        if want not in named:
            problems.append("no %s %s names the app '%s'" % (want[0], want[1], app_name))
    return problems


def tenant_paths(pset):
    """[(name, problems)]: the path check for every relying party loaded."""
    js = policy_paths.Journeys(pset)
    results = []
    for rp in pset.relying_parties():
        results.append(("path check %s (%s): every path to SendClaims passes an Authy approval" %
                        (rp.id, rp.name), policy_paths.check_rp(js, rp)))
        results.append(("refresh %s (%s): a token endpoint that only redeems refresh tokens and "
                        "keeps authyApproved" % (rp.id, rp.name),
                        policy_paths.check_refresh(js, rp)))
    results.append(("authyApproved comes only from the wait and verifytoken",
                    policy_paths.check_sources(js, pset.policies)))
    results.append(("authyApprovedObjectId comes only from objectId",
                    policy_paths.check_account_sources(js, pset.policies)))
    return results


def analyse(paths, mode, contract, ours):
    """Every check of one policy set: [(name, problems)]. ours: the paths of
    our files among paths (the rest is the pack's or the tenant's)."""
    pset = PolicySet(paths, ours)
    results = [("%s: %s" % (mode, name), probs) for name, probs in check_references(pset)]
    results += [("%s: %s" % (mode, name), probs)
                for name, probs in check_rest(pset, mode, contract)]
    results += [("%s: %s" % (mode, name), probs) for name, probs in check_journeys(pset)]
    results.append(("%s: the MFA session keeps the approval" % mode, check_session_claims(pset)))
    if mode in ("raw", "verify"):
        results += check_runs(pset, mode)
    if mode == "verify":
        results.append(("verify: no phone number is asked for, defined or sent",
                        check_no_phone(pset)))
        results.append(("verify: the texts users see name the app, never Authy",
                        check_app_named(pset, TEST_APP_NAME)))
    results += [("%s: %s" % (mode, name), probs) for name, probs in tenant_paths(pset)]
    results.append(("%s: session management profiles are SSO providers" % mode,
                    check_sessions(pset)))
    results.append(("%s: extension_authyId and the b2c-extensions-app IDs" % mode,
                    check_extension_app(pset, mode)))
    results.append(("%s: placeholders" % mode, check_placeholders(pset, mode)))
    results.append(("%s: metadata keys are the documented ones" % mode,
                    check_metadata_keys(pset)))
    results.append(("%s: ClaimEquals on a boolean claim compares True or False" % mode,
                    check_boolean_preconditions(pset)))
    results.append(("%s: the pages show only what the user gives" % mode, check_pages(pset)))
    return results


# --- running ----------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s" % name)
            for p in problems[:20]:
                print("     %s" % p)
        else:
            self.passed += 1
            print("ok   %s" % name)

    def finish(self):
        if self.passed == 0 and self.failed == 0:
            self.check("the checker ran a check", ["no check ran"])
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def xmllint(xsd, path):
    """[] when path is valid against xsd, else xmllint's complaints."""
    proc = subprocess.run(["xmllint", "--noout", "--schema", xsd, path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode == 0:
        return []
    lines = [line.replace("{http://schemas.microsoft.com/online/cpim/schemas/2013/06}", "")
             for line in proc.stdout.splitlines() if line.strip()]
    return lines or ["xmllint failed"]


def run_policy_sh(root, args):
    proc = subprocess.run(["bash", os.path.join(root, "scripts", "policy.sh")] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def check_builder(rep, root, pack, tmp):
    """scripts/policy.sh builds the set and refuses bad input. Returns out dir."""
    out = os.path.join(tmp, "out")
    rc, text = run_policy_sh(root, TEST_ARGS + ["OUT_DIR=" + out, "PACK=" + pack])
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    want = sorted(OUR_FILES + PACK_FILES)
    rep.check("policy.sh builds the substituted set", [] if rc == 0 and files == want else
              ["exit %d, files %s" % (rc, files)] + text.splitlines())
    # `make policy` passes every variable docs/policy.md lists, OUT_DIR too.
    made = os.path.join(tmp, "made")
    env = {k: v for k, v in os.environ.items() if k not in ("PROVIDER", "APP_NAME")}
    proc = subprocess.run(["make", "-s", "-C", root, "policy", "OUT_DIR=" + made] + TEST_ARGS,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    files = sorted(os.listdir(made)) if os.path.isdir(made) else []
    rep.check("make policy writes to OUT_DIR", [] if proc.returncode == 0 and
              files == sorted(OUR_FILES) else ["exit %d, files in OUT_DIR %s" %
                                              (proc.returncode, files)] +
              proc.stdout.splitlines())
    bad = [
        ("PACK together with EXTENDS", "EXTENDS=B2C_1A_TrustFrameworkExtensions"),
        ("a relying party PolicyId without B2C_1A_", "SIGNIN_POLICY_ID=signin"),
        ("two relying parties with one PolicyId", "PROFILEEDIT_POLICY_ID=B2C_1A_signup_signin"),
        ("AUTHY_EXTENSIONS_ID without EXTENDS", "AUTHY_EXTENSIONS_ID=B2C_1A_AuthyExtensions"),
        ("http:// BASE_URL", "BASE_URL=http://authy.example.com"),
        ("BASE_URL with a query", "BASE_URL=https://authy.example.com/?a=1&b=2"),
        ("EXTENSIONS_APP_ID not a GUID", "EXTENSIONS_APP_ID=not-a-guid"),
        ("missing EXTENSIONS_OBJECT_ID", "EXTENSIONS_OBJECT_ID="),
        ("unknown argument", "TENNANT=contoso"),
    ]
    for what, arg in bad:
        key = arg.split("=")[0]
        args = [a for a in TEST_ARGS if not a.startswith(key + "=")] + [arg]
        bad_out = os.path.join(tmp, "bad")
        rc, text = run_policy_sh(root, args + ["OUT_DIR=" + bad_out, "PACK=" + pack])
        written = os.listdir(bad_out) if os.path.isdir(bad_out) else []
        rep.check("policy.sh refuses %s" % what, [] if rc != 0 and not written else
                  ["exit %d, wrote %s" % (rc, written)])
    return out


def run_policy_sh_on(tmp, name, src, script, args):
    """policy.sh (the file script) run on the policy files in src, in a copy
    of the repository layout under tmp/name: (exit code, output)."""
    where = os.path.join(tmp, name)
    os.makedirs(os.path.join(where, "scripts"), exist_ok=True)
    os.makedirs(os.path.join(where, "policy"), exist_ok=True)
    shutil.copy(script, os.path.join(where, "scripts", "policy.sh"))
    for f in OUR_FILES:
        shutil.copy(os.path.join(src, f), os.path.join(where, "policy", f))
    return run_policy_sh(where, args)


def check_verify_builder(rep, root, pack, tmp):
    """PROVIDER=verify builds the whole set, and policy.sh refuses a build
    without APP_NAME and app names that are no printable text of at most 40
    characters. Returns the out dir."""
    out = os.path.join(tmp, "verify")
    rc, text = run_policy_sh(root, TEST_ARGS + VERIFY_ARGS + ["OUT_DIR=" + out, "PACK=" + pack])
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    rep.check("policy.sh PROVIDER=verify APP_NAME=... builds the substituted set",
              [] if rc == 0 and files == sorted(OUR_FILES + PACK_FILES) else
              ["exit %d, files %s" % (rc, files)] + text.splitlines())
    made = os.path.join(tmp, "verify-made")
    env = {k: v for k, v in os.environ.items() if k not in ("PROVIDER", "APP_NAME")}
    proc = subprocess.run(["make", "-s", "-C", root, "policy", "OUT_DIR=" + made] + TEST_ARGS +
                          VERIFY_ARGS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env)
    same = all(filecmp.cmp(os.path.join(made, f), os.path.join(out, f), shallow=False)
               for f in OUR_FILES if os.path.isfile(os.path.join(made, f)))
    rep.check("make policy passes PROVIDER and APP_NAME (quotes and all) to policy.sh",
              [] if proc.returncode == 0 and same and
              sorted(os.listdir(made)) == sorted(OUR_FILES) else
              ["exit %d, same as policy.sh's: %s" % (proc.returncode, same)] +
              proc.stdout.splitlines())
    bad = [
        ("PROVIDER=verify without APP_NAME", ["PROVIDER=verify"]),
        ("an unknown PROVIDER", ["PROVIDER=twilio", "APP_NAME=Contoso"]),
        ("an APP_NAME with a control character", VERIFY_ARGS[:1] + ["APP_NAME=Contoso\tApp"]),
        ("an APP_NAME with an invisible format character",
         VERIFY_ARGS[:1] + ["APP_NAME=Contoso\u200bApp"]),
        ("an APP_NAME with a line separator", VERIFY_ARGS[:1] + ["APP_NAME=Contoso\u2028App"]),
        ("an APP_NAME of 41 characters", VERIFY_ARGS[:1] + ["APP_NAME=" + "\u00e9" * 41]),
        ("an APP_NAME with a leading space", VERIFY_ARGS[:1] + ["APP_NAME= Contoso"]),
        ("an empty APP_NAME", VERIFY_ARGS[:1] + ["APP_NAME="]),
    ]
    for what, extra in bad:
        bad_out = os.path.join(tmp, "bad-verify")
        rc, text = run_policy_sh(root, TEST_ARGS + extra + ["OUT_DIR=" + bad_out])
        written = os.listdir(bad_out) if os.path.isdir(bad_out) else []
        rep.check("policy.sh refuses %s" % what, [] if rc != 0 and not written else
                  ["exit %d, wrote %s" % (rc, written)])
    ok_out = os.path.join(tmp, "verify-40")
    rc, text = run_policy_sh(root, TEST_ARGS + VERIFY_ARGS[:1] +
                             ["APP_NAME=" + "\u00e9" * 40, "OUT_DIR=" + ok_out])
    rep.check("policy.sh takes an APP_NAME of 40 non-ASCII characters",
              [] if rc == 0 else ["exit %d" % rc] + text.splitlines())
    return out


def expected_authy_build(src, name):
    """What policy.sh must write for our file name with TEST_ARGS and the
    default provider: the file as it reads, without the header that lists
    the placeholders (a note that it is generated instead), without the
    Verify blocks and the markers of the Authy lines, with the placeholders
    replaced and APP_NAME "Authy"."""
    with open(os.path.join(src, name), encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, skip = [], None
    for line in lines:
        if skip is not None:
            if re.match(skip, line):
                skip = None
            continue
        if line == "<!--":
            skip = r"^-->$"
        elif re.match(r"^ *<!-- verify:begin$", line):
            skip = r"^ *verify:end -->$"
        elif not re.match(r"^ *<!-- authy:(begin|end) -->$", line):
            out.append(line)
    out.insert(1, "<!-- Generated by scripts/policy.sh from policy/%s for %s; do not edit. -->"
               % (name, TEST_TENANT))
    text = "\n".join(out)
    values = dict(a.split("=", 1) for a in TEST_ARGS)
    for old, new in (("yourtenant.onmicrosoft.com", TEST_TENANT + ".onmicrosoft.com"),
                     ("{BASE_URL}", values["BASE_URL"]),
                     ("{EXTENSIONS_APP_ID}", values["EXTENSIONS_APP_ID"]),
                     ("{EXTENSIONS_OBJECT_ID}", values["EXTENSIONS_OBJECT_ID"]),
                     ("ProxyIdentityExperienceFrameworkAppId", values["PROXY_IEF_APP_ID"]),
                     ("IdentityExperienceFrameworkAppId", values["IEF_APP_ID"]),
                     ("facebook_clientid", values["FACEBOOK_CLIENT_ID"]),
                     ("{APP_NAME}", "Authy")):
        text = text.replace(old, new)
    return text


def authy_build_problems(src, out):
    """Differences between the Authy build in out and what it must be."""
    problems = []
    for name in OUR_FILES:
        path = os.path.join(out, name)
        if not os.path.isfile(path):
            problems.append("%s missing" % name)
            continue
        with open(path, encoding="utf-8") as f:
            got = f.read()
        want = expected_authy_build(src, name)
        if got != want:
            diff = [line for line in difflib.unified_diff(
                want.splitlines(), got.splitlines(), "expected", "built", lineterm="", n=0)]
            problems.append("%s differs from the file as it reads: %s" % (name, diff[2:8]))
    return problems


def check_authy_build(rep, root, out, tmp):
    """The Authy build is the files as they read (no Verify block, no marker),
    and PROVIDER=authy APP_NAME=Authy builds the same bytes as the default."""
    src = os.path.join(root, "policy")
    rep.check("authy: the default build is the files as they read, with the placeholders "
              "replaced", authy_build_problems(src, out))
    explicit = os.path.join(tmp, "authy-explicit")
    rc, text = run_policy_sh(root, TEST_ARGS + ["PROVIDER=authy", "APP_NAME=Authy",
                                                "OUT_DIR=" + explicit])
    diff = [f for f in OUR_FILES if rc != 0 or not filecmp.cmp(
        os.path.join(out, f), os.path.join(explicit, f), shallow=False)]
    rep.check("authy: PROVIDER=authy APP_NAME=Authy builds the default's bytes",
              ["exit %d, differing %s" % (rc, diff)] + text.splitlines() if diff else [])


def check_layered(rep, root, pack, tmp, contract):
    """A layered build (EXTENDS) sits on the tenant's own extensions (here the
    pack's) with its own PolicyId and the tenant's relying party PolicyIds,
    and passes every check on top of them."""
    out = os.path.join(tmp, "layered")
    ids = ["SIGNIN_POLICY_ID=B2C_1A_signin_contoso", "PROFILEEDIT_POLICY_ID=B2C_1A_edit_contoso",
           "PASSWORDRESET_POLICY_ID=B2C_1A_reset_contoso"]
    args = [a for a in TEST_ARGS if a.split("=")[0] not in
            ("IEF_APP_ID", "PROXY_IEF_APP_ID", "FACEBOOK_CLIENT_ID")]
    rc, text = run_policy_sh(root, args + ids + ["EXTENDS=B2C_1A_TrustFrameworkExtensions",
                                                 "OUT_DIR=" + out])
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    rep.check("policy.sh EXTENDS= builds a layered set with the tenant's PolicyIds",
              [] if rc == 0 and files == sorted(OUR_FILES) else
              ["exit %d, files %s" % (rc, files)] + text.splitlines())
    if files != sorted(OUR_FILES):
        return
    mine = [os.path.join(out, f) for f in OUR_FILES]
    got = [load_xml(p).attrs.get("PolicyId") for p in mine]
    want = ["B2C_1A_AuthyExtensions"] + [a.split("=")[1] for a in ids]
    with open(mine[0], encoding="utf-8") as f:
        text = f.read()
    left = [m for m in ("pack:begin", "Facebook-OAUTH\">", "login-NonInteractive") if m in text]
    rep.check("layered: PolicyIds are the given ones, the pack's settings are left out",
              ([] if got == want else ["PolicyIds %s, expected %s" % (got, want)]) +
              ["still in the layered extensions: %s" % m for m in left])
    base = [os.path.join(pack, f) for f in PACK_FILES + [PACK_EXT]]
    for name, problems in analyse(base + mine, "layered", contract, mine):
        rep.check(name, problems)
    # With new PolicyIds the tenant's old relying parties (here the pack's) stay
    # and still issue tokens without Authy, as docs/policy.md warns.
    kept = pack_rps_kept(pack, mine[1:])
    bad = path_failures(base + mine + kept, mine)
    rep.check("layered with new PolicyIds: the old relying parties left in place fail the "
              "path check", [] if len(kept) == 3 and len(bad) >= 3 else
              ["kept %s, failures %s" % (kept, bad[:3])])


def pfx_recipes(doc):
    """The `openssl pkcs12 -export` command lines of a document (continuation
    lines joined)."""
    with open(doc, encoding="utf-8") as f:
        text = re.sub(r"\\\n\s*", " ", f.read())
    return [line.strip() for line in text.splitlines()
            if line.strip().startswith("openssl pkcs12 -export")]


def pfx_problems(pfx, password):
    """[] if the .pfx has what B2C accepts: SHA-1 MAC, a TripleDES key bag, no PBES2."""
    proc = subprocess.run(["openssl", "pkcs12", "-in", pfx, "-info", "-noout", "-legacy",
                           "-passin", "pass:" + password],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    info = proc.stdout
    problems = [] if proc.returncode == 0 else ["openssl cannot read it: %s" % info.strip()]
    if "MAC: sha1" not in info:
        problems.append("MAC is not SHA-1")
    if "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" not in info:
        problems.append("the key is not encrypted with PBE-SHA1-3DES")
    if "PBES2" in info:
        problems.append("PBES2/AES encryption, which B2C refuses")
    return problems


def check_pfx(rep, root, tmp):
    """Every .pfx recipe in docs/policy.md and docs/deployment.md, run on a
    fresh key and certificate, gives a file B2C accepts; OpenSSL 3's default
    export does not."""
    if shutil.which("openssl") is None:
        print("skipped: openssl not installed (the .pfx recipe check)")
        return
    work = os.path.join(tmp, "pfx")
    os.makedirs(work)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=b2c-authy test", "-keyout", os.path.join(work, "client.key"),
                    "-out", os.path.join(work, "client.crt")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    recipes = pfx_recipes(os.path.join(root, "docs", "policy.md"))
    rep.check("docs/policy.md gives the .pfx recipe with -legacy and with explicit PBE-SHA1-3DES",
              [] if any("-legacy" in r for r in recipes) and
              any("-keypbe PBE-SHA1-3DES" in r for r in recipes) else ["found %s" % recipes])
    recipes += pfx_recipes(os.path.join(root, "docs", "deployment.md"))
    recipes.append("openssl pkcs12 -export -in client.crt -inkey client.key -out default.pfx")
    for i, recipe in enumerate(recipes):
        args = recipe.split()[1:] + ["-passout", "pass:test-only-pass"]
        for flag, src in (("-in", "client.crt"), ("-inkey", "client.key")):
            name = args[args.index(flag) + 1] if flag in args else src
            if not os.path.exists(os.path.join(work, name)):
                shutil.copy(os.path.join(work, src), os.path.join(work, name))
        proc = subprocess.run(["openssl"] + args, cwd=work, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        outs = [args[j + 1] for j, a in enumerate(args[:-1]) if a == "-out"]
        found = pfx_problems(os.path.join(work, outs[0]), "test-only-pass") \
            if proc.returncode == 0 and outs else ["did not run: %s" % proc.stdout.strip()]
        if i == len(recipes) - 1:
            rep.check("self-test: the .pfx check refuses OpenSSL 3's default export",
                      [] if found else ["accepted"])
        else:
            rep.check("the documented .pfx recipe gives SHA-1 MAC and TripleDES: %s" % recipe,
                      found)


# Mutations of our files: (what, file, old, new, text expected in a problem).
MUTATIONS = [
    ("dangling ValidationTechnicalProfile", "TrustFrameworkExtensions.xml",
     'ValidationTechnicalProfile ReferenceId="AAD-UserWriteAuthyIdUsingObjectId"',
     'ValidationTechnicalProfile ReferenceId="AAD-UserWriteAuthyIdUsingObjectIdX"',
     "AAD-UserWriteAuthyIdUsingObjectIdX"),
    ("dangling ClaimTypeReferenceId", "TrustFrameworkExtensions.xml",
     'OutputClaim ClaimTypeReferenceId="authyPhoneNumber" Required="true"',
     'OutputClaim ClaimTypeReferenceId="authyPhoneNumbr" Required="true"', "authyPhoneNumbr"),
    ("dangling ContentDefinitionReferenceId", "TrustFrameworkExtensions.xml",
     '"ContentDefinitionReferenceId">api.authy.verify<',
     '"ContentDefinitionReferenceId">api.authy.verfy<', "api.authy.verfy"),
    ("dangling DefaultUserJourney", "SignUpOrSignin.xml",
     'DefaultUserJourney ReferenceId="SignUpOrSignInWithAuthy"',
     'DefaultUserJourney ReferenceId="SignUpOrSignInWithAuthx"', "SignUpOrSignInWithAuthx"),
    ("broken BasePolicy chain", "SignUpOrSignin.xml",
     "<PolicyId>B2C_1A_TrustFrameworkExtensions</PolicyId>",
     "<PolicyId>B2C_1A_TrustFrameworkExtension</PolicyId>", "B2C_1A_TrustFrameworkExtension'"),
    ("misspelled input claim name", "TrustFrameworkExtensions.xml",
     'PartnerClaimType="phoneNumber"', 'PartnerClaimType="phoneNumbr"', "'phoneNumbr'"),
    ("misspelled output claim name", "TrustFrameworkExtensions.xml",
     'OutputClaim ClaimTypeReferenceId="extension_authyId" PartnerClaimType="authyId"',
     'OutputClaim ClaimTypeReferenceId="extension_authyId" PartnerClaimType="authyID"',
     "'authyID'"),
    ("wrong client certificate key", "TrustFrameworkExtensions.xml",
     'StorageReferenceId="B2C_1A_AuthyClientCert"', 'StorageReferenceId="B2C_1A_AuthyCert"',
     "ClientCertificate"),
    ("enrolment before verification", "TrustFrameworkExtensions.xml",
     '<OrchestrationStep Order="8" Type="ClaimsExchange">',
     '<OrchestrationStep Order="11" Type="ClaimsExchange">', "enrolment runs before"),
    ("misspelled override of AAD-Common", "TrustFrameworkExtensions.xml",
     '<TechnicalProfile Id="AAD-Common">', '<TechnicalProfile Id="AAD-Comon">', "AAD-Comon"),
]

# Mutations that the schema must reject: (what, file, regex, replacement).
SCHEMA_MUTATIONS = [
    ("unknown element in a technical profile", "TrustFrameworkExtensions.xml",
     r"(<DisplayName>\{APP_NAME\} enrolment</DisplayName>)", r"\1<Timeout>30</Timeout>"),
    ("elements out of order", "TrustFrameworkExtensions.xml",
     r"(<DisplayName>\{APP_NAME\} enrolment</DisplayName>)(\s*)(<Protocol [^>]*/>)", r"\3\2\1"),
    ("missing required attribute", "TrustFrameworkExtensions.xml",
     r'<Key Id="ClientCertificate" ', r"<Key "),
]


def mutated_copy(src_dir, dst_dir, name, old, new, regex=False):
    """Copy our files and replace the first old (a string, or a regex) by new
    in name. False if old does not occur."""
    return edited_copy(src_dir, dst_dir, [(name, old, new, regex)])


def edited_copy(src_dir, dst_dir, edits):
    """Copy our files and apply every (file, old, new, regex) edit, each to
    its first occurrence. False if one of them does not apply."""
    os.makedirs(dst_dir, exist_ok=True)
    for f in OUR_FILES:
        shutil.copy(os.path.join(src_dir, f), os.path.join(dst_dir, f))
    for name, old, new, regex in edits:
        path = os.path.join(dst_dir, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if regex:
            text, n = re.subn(old, new, text, count=1, flags=re.S)
        else:
            n = text.count(old)
            text = text.replace(old, new, 1)
        if n == 0:
            return False
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return True


def step_re(order, exchange):
    """A regex for the whole orchestration step of that order and exchange id."""
    return (r'(<!--[^\n]*-->\s*)?<OrchestrationStep Order="%d" Type="ClaimsExchange">'
            r'(?:(?!</OrchestrationStep>).)*?ClaimsExchange Id="%s".*?</OrchestrationStep>\s*'
            % (order, exchange))


EXT = "TrustFrameworkExtensions.xml"
SKIP_ON_PUSH = ('<Preconditions><Precondition Type="ClaimEquals" ExecuteActionsIf="true">'
                '<Value>authyMethod</Value><Value>push</Value>'
                '<Action>SkipThisOrchestrationStep</Action></Precondition></Preconditions>')
SKIP_ON_CODE = SKIP_ON_PUSH.replace("push", "code")
# The directory read that starts every journey with no approved account ("none").
NO_ACCOUNT_YET = (r'\s*<OutputClaim ClaimTypeReferenceId="authyApprovedObjectId" '
                  r'DefaultValue="none" AlwaysUseDefaultValue="true" />')
# The reset's assertion skipped on the code path: the code page alone must then approve.
RESET_GATE = (r'(<OrchestrationStep Order="6" Type="ClaimsExchange">)(\s*<ClaimsExchanges>\s*'
              r'<ClaimsExchange Id="AuthyAssertApproved")')
# The reset's code page asserting the approval itself (after the push or the code).
CODE_RESET_ASSERT = (r'(<TechnicalProfile Id="SelfAsserted-AuthyCodeReset">.*?)'
                     r'<ValidationTechnicalProfile ReferenceId="Authy-AssertApproved" />')

# Ways of skipping the approval: (what, [(file, regex, replacement)], text expected
# in a reported problem). Each must make the analysis fail.
BYPASSES = [
    ("sign-in without the assertion step", [(EXT, step_re(12, "AuthyAssertApproved"), "")],
     "B2C_1A_signup_signin (SignUpOrSignin.xml): journey SignUpOrSignInWithAuthy reaches"),
    ("profile edit without the assertion step", [(EXT, step_re(10, "AuthyAssertApproved"), "")],
     "B2C_1A_ProfileEdit (ProfileEdit.xml): journey ProfileEditWithAuthy reaches"),
    ("password reset without the assertion step", [(EXT, step_re(6, "AuthyAssertApproved"), "")],
     "B2C_1A_PasswordReset (PasswordReset.xml): journey PasswordResetWithAuthy reaches"),
    ("an assertion that the push choice skips",
     [(EXT, RESET_GATE, r"\1" + SKIP_ON_PUSH + r"\2")],
     "journey PasswordResetWithAuthy reaches SendClaims without"),
    ("an assertion that authyApproved is false",
     [(EXT, r'(Id="valueToCompareTo" DataType="boolean" Value=)"true"', r'\1"false"')],
     "journey SignUpOrSignInWithAuthy reaches SendClaims without"),
    ("a push-only sign-in without the assertion (the wait's 200 may carry no approval)",
     [(EXT, step_re(12, "AuthyAssertApproved"), ""), (EXT, step_re(11, "AuthySetup"), ""),
      (EXT, step_re(9, "AuthyCode"), ""),
      (EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyVerify">.*?<ValidationTechnicalProfile '
       r'ReferenceId="REST-AuthyWaitForApproval")>\s*<Preconditions>.*?</Preconditions>\s*'
       r'</ValidationTechnicalProfile>', r"\1 />")],
     "journey SignUpOrSignInWithAuthy reaches SendClaims without"),
    ("SendClaims before the assertion",
     [(EXT, r'(<OrchestrationStep Order=)"6"( Type="ClaimsExchange">\s*<ClaimsExchanges>\s*'
       r'<ClaimsExchange Id="AuthyAssertApproved")', r'\1"9"\2')],
     "journey PasswordResetWithAuthy reaches SendClaims without"),
    ("the verification step removed (the wait never runs)",
     [(EXT, step_re(8, "AuthyVerify"), "")], "verification step missing"),
    ("the enrolment page without its wait",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyEnrol">.*?)<ValidationTechnicalProfile '
       r'ReferenceId="REST-AuthyWaitForApproval" />', r"\1")], "enrolment step missing"),
    ("the wait without the client's IP address",
     [(EXT, r'\s*<InputClaim ClaimTypeReferenceId="authyIpAddress"[^>]*/>', "")],
     "must always send ipAddress"),
    ("verifytoken without the client's IP address (a code accepted before bound to less)",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyVerifyToken">.*?)\s*<InputClaim '
       r'ClaimTypeReferenceId="authyIpAddress"[^>]*/>', r"\1")],
     "verifytoken must always send ipAddress"),
    ("ProfileEdit running the pack's unprotected journey",
     [("ProfileEdit.xml", 'ReferenceId="ProfileEditWithAuthy"', 'ReferenceId="ProfileEdit"')],
     "B2C_1A_ProfileEdit (ProfileEdit.xml): journey ProfileEdit reaches"),
    ("authyApproved defaulting to true in the token",
     [("SignUpOrSignin.xml", '<OutputClaim ClaimTypeReferenceId="authyApproved" />',
       '<OutputClaim ClaimTypeReferenceId="authyApproved" DefaultValue="true" />')],
     "has DefaultValue 'true'"),
    ("a claims transformation that sets authyApproved",
     [(EXT, r'(TransformationClaimType="inputClaim" />\s*</InputClaims>)',
       r'\1<OutputClaims><OutputClaim ClaimTypeReferenceId="authyApproved" '
       r'TransformationClaimType="outputClaim" /></OutputClaims>')],
     "outputs authyApproved"),
    ("a code page validated by another REST call instead of verifytoken",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyCodeReset">.*?)REST-AuthyVerifyToken',
       r"\1REST-AuthyRegister"), (EXT, CODE_RESET_ASSERT, r"\1"),
      (EXT, RESET_GATE, r"\1" + SKIP_ON_CODE + r"\2")],
     "journey PasswordResetWithAuthy reaches SendClaims without"),
    ("a code check that may fail on the page (ContinueOnError)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyCodeReset">.*?<ValidationTechnicalProfile '
       r'ReferenceId="REST-AuthyVerifyToken")', r'\1 ContinueOnError="true"'),
      (EXT, CODE_RESET_ASSERT, r"\1"), (EXT, RESET_GATE, r"\1" + SKIP_ON_CODE + r"\2")],
     "journey PasswordResetWithAuthy reaches SendClaims without"),
    ("password reset with SSO (no fresh push)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyVerifyReset">.*?ReferenceId=)"SM-Noop"',
       r'\1"SM-AuthyMFA"')], "a reset must push anew"),
    ("password reset that enrols",
     [(EXT, 'TechnicalProfileReferenceId="SelfAsserted-AuthyResetNotEnrolled"',
       'TechnicalProfileReferenceId="SelfAsserted-AuthyEnrol"')],
     "enrols or sets up push on a password reset"),
    ("refreshed tokens without authyApproved",
     [(EXT, r'(<TechnicalProfile Id="RefreshTokenReadAndSetup">\s*<OutputClaims>\s*)'
       r'<OutputClaim ClaimTypeReferenceId="authyApproved" />', r'\1<OutputClaim '
       r'ClaimTypeReferenceId="objectId" />')], "refreshed tokens lose authyApproved"),
    ("the wait without the transaction's correlation id",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyWaitForApproval">.*?'
       r'PartnerClaimType="correlationId" DefaultValue="\{Context:CorrelationId\}") '
       r'AlwaysUseDefaultValue="true"', r"\1")],
     "must always send correlationId"),
    ("register without the account's objectId",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyRegister">.*?)<InputClaim ClaimTypeReferenceId='
       r'"objectId" PartnerClaimType="objectId" Required="true" />', r"\1")],
     "must send objectId from the claim objectId"),
    ("register with an objectId the user types",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyRegister">.*?)<InputClaim ClaimTypeReferenceId='
       r'"objectId" PartnerClaimType="objectId"', r'\1<InputClaim ClaimTypeReferenceId='
       r'"authyPhoneNumber" PartnerClaimType="objectId"')],
     "must send objectId from the claim objectId"),
    ("claim resolvers without IncludeClaimResolvingInClaimsHandling",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyVerifyToken">.*?)<Item Key="IncludeClaimResolving'
       r'InClaimsHandling">true</Item>', r"\1")], "IncludeClaimResolvingInClaimsHandling"),
    ("the directory stores authyApproved",
     [(EXT, r'(<PersistedClaim ClaimTypeReferenceId="extension_authyId" />)',
       r'\1<PersistedClaim ClaimTypeReferenceId="authyApproved" />')],
     "AAD-UserWriteAuthyIdUsingObjectId persists authyApproved but asks for no approval"),
    ("a directory read that outputs authyApproved",
     [(EXT, r'(<TechnicalProfile Id="AAD-UserReadAuthyIdUsingObjectId">.*?'
       r'<OutputClaim ClaimTypeReferenceId="extension_authyId" />)',
       r'\1<OutputClaim ClaimTypeReferenceId="authyApproved" />')],
     "AAD-UserReadAuthyIdUsingObjectId outputs authyApproved but asks for no approval"),
    ("the reset's stop page in the MFA session (an approval of the SSO session carried in)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyResetNotEnrolled">.*?ReferenceId=)"SM-Noop"',
       r'\1"SM-AuthyMFA"')],
     "session SM-AuthyMFA keeps authyApproved for SelfAsserted-AuthyResetNotEnrolled"),
    ("the reset's stop page passing authyApproved on unforced",
     [(EXT, r'(<OutputClaim ClaimTypeReferenceId="authyApproved") DefaultValue="false" '
       r'AlwaysUseDefaultValue="true" />', r"\1 />")],
     "SelfAsserted-AuthyResetNotEnrolled outputs authyApproved but asks for no approval"),
    ("the reset's stop page without authyApproved and the read without the 'none' account "
     "(a crafted submit reaches the password write)",
     [(EXT, r'\s*<OutputClaim ClaimTypeReferenceId="authyApproved" DefaultValue="false" '
       r'AlwaysUseDefaultValue="true" />', ""), (EXT, NO_ACCOUNT_YET, "")],
     "ended 'token', expected 'refused'"),
    ("an assertion step that does not check the account (an approval of another account "
     "restored from the SSO session)",
     [(EXT, r'\s*<OutputClaimsTransformation ReferenceId="AssertAuthyApprovedAccount" />', "")],
     "ended 'token', expected 'refused'"),
    ("the read without the 'none' account (a session from before the binding restores none)",
     [(EXT, NO_ACCOUNT_YET, "")], "ended 'token', expected 'refused'"),
    ("the MFA session keeping the Authy ID (another account's, restored by a skipped page, "
     "gets the push or the code check of the set-up or code page)",
     [(EXT, r'(<TechnicalProfile Id="SM-AuthyMFA">.*?<PersistedClaims>)',
       r'\1<PersistedClaim ClaimTypeReferenceId="extension_authyId" />')],
     "ended 'token', expected 'stuck'"),
    ("the approval's account typed by the user",
     [(EXT, r'(<ClaimType Id="authyApprovedObjectId">.*?</DataType>)',
       r'\1<UserInputType>TextBox</UserInputType>')], "the user could type it"),
    ("the approval's account copied from the email address",
     [(EXT, r'(<ClaimsTransformation Id="CopyObjectIdToAuthyApprovedObjectId".*?'
       r'ClaimTypeReferenceId=)"objectId"', r'\1"email"')],
     "from something other than a copy of objectId"),
    ("an account check with an unknown string comparison",
     [(EXT, r'(Id="stringComparison" DataType="string" Value=)"Ordinal"', r'\1"Foo"')],
     "the assertion step does not check that the approval is of this account"),
    ("the code page not passing authyApproved on (the journey never sees its false)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyCode">.*?<OutputClaim '
       r'ClaimTypeReferenceId="authyToken" />)\s*<OutputClaim '
       r'ClaimTypeReferenceId="authyApproved" />', r"\1")],
     "ended 'token', expected 'refused'"),
    ("directory write before the approval on profile edit",
     [(EXT, r'(<UserJourney Id="ProfileEditWithAuthy">.*?TechnicalProfileReferenceId=)'
       r'"AAD-UserReadUsingObjectId"', r'\1"SelfAsserted-ProfileUpdate"')],
     "writes to the directory before the approval assertion"),
]


# Policies that B2C would take but not run as meant: (what, [(file, regex,
# replacement)], text expected in a reported problem).
B2C_RULES = [
    ("register requiring a claim that no journey holds at enrolment (B2C fails the call)",
     [(EXT, r'(<TechnicalProfile Id="REST-AuthyRegister">.*?<InputClaim ClaimTypeReferenceId=)'
       r'"objectId"', r'\1"authyToken"')],
     "missing authyToken: REST-AuthyRegister"),
    ("a misspelled REST metadata key (the timeout message dropped)",
     [(EXT, r'(<Item Key=")UserMessageIfRequestTimeout(">The sign-in request)', r"\1"
       r"UserMessageIfRequestTimeOut\2")], "'UserMessageIfRequestTimeOut' is not a metadata key"),
    ("a misspelled page metadata key (the Continue button shown)",
     [(EXT, r'(<Item Key=")setting\.showContinueButton(")', r"\1setting.showContinue\2")],
     "'setting.showContinue' is not a metadata key"),
    ("a ClaimEquals precondition on a boolean claim with 'true'",
     [(EXT, r'(<ValidationTechnicalProfile ReferenceId="REST-AuthyWaitForApproval">\s*'
       r'<Preconditions>\s*<Precondition Type="ClaimEquals" ExecuteActionsIf="true">\s*)'
       r'<Value>authyMethod</Value>\s*<Value>code</Value>',
       r"\1<Value>authyApproved</Value><Value>true</Value>")],
     "compares the boolean authyApproved with 'true'"),
    ("the reset's stop page taking authyApproved from the browser",
     [(EXT, r'(<OutputClaim ClaimTypeReferenceId="authyApproved") DefaultValue="false" '
       r'AlwaysUseDefaultValue="true" />', r"\1 />")],
     "page SelfAsserted-AuthyResetNotEnrolled shows authyApproved"),
    ("a page whose only shown claim is gone (B2C skips it)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthySetup">.*?<OutputClaims>)\s*'
       r'<OutputClaim ClaimTypeReferenceId="authyApprovalPrompt" />', r"\1")],
     "page SelfAsserted-AuthySetup shows no claim"),
    ("the verification page completing on the push without an approval (the SSO session "
     "keeps its false for good)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyVerify">.*?)<ValidationTechnicalProfile '
       r'ReferenceId="Authy-AssertApproved">.*?</ValidationTechnicalProfile>\s*', r"\1")],
     "the session keeps ['SelfAsserted-AuthyVerify'], expected []"),
    ("the code page completing on the push without an approval (the SSO session keeps its "
     "false for good)",
     [(EXT, r'(<TechnicalProfile Id="SelfAsserted-AuthyCode">.*?)<ValidationTechnicalProfile '
       r'ReferenceId="Authy-AssertApproved">.*?</ValidationTechnicalProfile>\s*', r"\1")],
     "the session keeps ['SelfAsserted-AuthyCode', 'SelfAsserted-AuthyVerify'], expected "
     "['SelfAsserted-AuthyVerify']"),
    ("B2C's timeout message of the wait differing from the responder's",
     [(EXT, r'(Key="UserMessageIfRequestTimeout">The sign-in request was not approved) in time',
       r"\1 on time")], "the responder's B2C_MSG_TIMEOUT is"),
    ("a shown claim without a UserInputType",
     [(EXT, r'(<ClaimType Id="authyToken">.*?)<UserInputType>TextBox</UserInputType>', r"\1")],
     "shows authyToken, which has no UserInputType"),
]


def self_tests(rep, src, pack, xsd, contract, tmp):
    """Each broken copy must make the checks report the expected problem."""
    packs = [os.path.join(pack, f) for f in PACK_FILES]
    for i, (what, name, old, new, expect) in enumerate(MUTATIONS):
        dst = os.path.join(tmp, "mut%d" % i)
        if not mutated_copy(src, dst, name, old, new):
            rep.check("self-test: %s is caught" % what, ["mutation did not apply"])
            continue
        mine = [os.path.join(dst, f) for f in OUR_FILES]
        found = [p for _, probs in analyse(packs + mine, "raw", contract, mine) for p in probs]
        hit = [p for p in found if expect in p]
        rep.check("self-test: %s is caught" % what,
                  [] if hit else ["not reported; problems seen: %s" % found[:5]])
    for kind, prefix, cases in (("bypass caught", "bypass", BYPASSES),
                                ("B2C rule caught", "rule", B2C_RULES)):
        for i, (what, edits, expect) in enumerate(cases):
            dst = os.path.join(tmp, "%s%d" % (prefix, i))
            if not edited_copy(src, dst, [(f, old, new, True) for f, old, new in edits]):
                rep.check("self-test: %s: %s" % (kind, what), ["mutation did not apply"])
                continue
            mine = [os.path.join(dst, f) for f in OUR_FILES]
            found = [p for _, probs in analyse(packs + mine, "raw", contract, mine)
                     for p in probs]
            hit = [p for p in found if expect in p]
            rep.check("self-test: %s: %s" % (kind, what),
                      [] if hit else ["not reported; problems seen: %s" % found[:5]])
    broken = dict(contract[2], B2C_KEY_USER_MESSAGE="message")
    rep.check("self-test: a 409 body field that B2C does not read is caught",
              [] if check_error_body(broken) else ["not reported"])
    # Control for the two code-page bypasses: with the code page intact, the
    # code path counts as an approval (the page asserts it after verifytoken),
    # so skipping the assertion step on it alone is no path failure.
    dst = os.path.join(tmp, "control")
    ok = edited_copy(src, dst, [(EXT, RESET_GATE, r"\1" + SKIP_ON_CODE + r"\2", True)])
    mine = [os.path.join(dst, f) for f in OUR_FILES]
    found = path_failures(packs + mine, mine) if ok else ["edit did not apply"]
    rep.check("self-test: control: the code page (its own assertion) counts as an approval",
              found)
    # docs/policy.md "Asking on every sign-in": the two pages on SM-Noop leave
    # SM-AuthyMFA unused; the set must pass every check but the runs in an SSO
    # session (they push again).
    dst = os.path.join(tmp, "every-sign-in")
    ok = edited_copy(src, dst, [
        (EXT, r'(<TechnicalProfile Id="%s">.*?ReferenceId=)"SM-AuthyMFA"' % page, r'\1"SM-Noop"',
         True) for page in ("SelfAsserted-AuthyVerify", "SelfAsserted-AuthyCode")])
    mine = [os.path.join(dst, f) for f in OUR_FILES]
    found = [p for name, probs in analyse(packs + mine, "raw", contract, mine) for p in probs
             if "SSO:" not in name] if ok else ["edit did not apply"]
    rep.check("self-test: control: asking on every sign-in (the pages on SM-Noop) passes", found)
    for i, (what, name, old, new) in enumerate(SCHEMA_MUTATIONS):
        dst = os.path.join(tmp, "schema%d" % i)
        applied = mutated_copy(src, dst, name, old, new, regex=True)
        errors = xmllint(xsd, os.path.join(dst, name)) if applied else []
        rep.check("self-test: schema rejects %s" % what,
                  [] if applied and errors else ["mutation did not apply" if not applied
                                                 else "xmllint accepted it"])
    # The original sample's mistake: a session profile outside any ClaimsProvider.
    dst = os.path.join(tmp, "misplaced")
    ok = mutated_copy(src, dst, "TrustFrameworkExtensions.xml", "</ClaimsProviders>",
                      "</ClaimsProviders>\n<TechnicalProfile Id=\"SM-Stray\" />")
    errors = xmllint(xsd, os.path.join(dst, "TrustFrameworkExtensions.xml")) if ok else []
    rep.check("self-test: schema rejects a session profile outside ClaimsProviders",
              [] if ok and errors else ["not rejected"])


# Breaks of the Verify build alone (the Authy build of each is fine), and the
# problem each must make the checks of the Verify build report.
SIGNIN_GATE = ('                <OrchestrationStep Order="12" Type="ClaimsExchange">\n'
               '                    <ClaimsExchanges>\n'
               '                        <ClaimsExchange Id="AuthyAssertApproved"')
REGISTER_PHONE = ('                        <InputClaim ClaimTypeReferenceId="authyPhoneNumber" '
                  'PartnerClaimType="phoneNumber" Required="true" />\n')
VERIFY_BREAKS = [
    ("a Verify block the schema refuses",
     [(EXT, r"(<!-- verify:begin\s*)<InputClaims>(.*?)</InputClaims>",
       r"\1<InputClaimz>\2</InputClaimz>", True)], "schema"),
    ("the sign-in's assertion left out of the Verify build",
     [(EXT, SIGNIN_GATE, "                <!-- authy:begin -->\n" + SIGNIN_GATE, False),
      (EXT, '\n                <OrchestrationStep Order="13" Type="SendClaims"',
       '\n                <!-- authy:end -->\n                <OrchestrationStep Order="13" '
       'Type="SendClaims"', False)], "reaches SendClaims without an Authy approval"),
    ("register sending the phone number in the Verify build",
     [(EXT, "                        <!-- authy:begin -->\n" + REGISTER_PHONE +
       "                        <!-- authy:end -->\n", REGISTER_PHONE, False)],
     "sends phoneNumber"),
    ("a register run sending a phone number",
     [(EXT, 'ClaimTypeReferenceId="email" PartnerClaimType="email"',
       'ClaimTypeReferenceId="email" PartnerClaimType="countryCode"', False)],
     "sent ['countryCode']"),
    ("Authy named in the Verify enrolment page's prompt",
     [(EXT, "in the {APP_NAME} app on your phone.\"", "in the Authy app on your phone.\"", False)],
     "names Authy"),
    ("Authy named in a text both builds share",
     [(EXT, "<DisplayName>{APP_NAME} approval</DisplayName>",
       "<DisplayName>Authy approval</DisplayName>", False)], "names Authy"),
]


def self_tests_builds(rep, root, pack, xsd, contract, tmp):
    """Each break of the Verify build makes its checks fail; a policy.sh that
    lets a Verify block into the Authy build makes the Authy build's fail."""
    script = os.path.join(root, "scripts", "policy.sh")
    src = os.path.join(root, "policy")
    packs = [os.path.join(pack, f) for f in PACK_FILES]
    for i, (what, edits, expect) in enumerate(VERIFY_BREAKS):
        name = "self-test: Verify build: %s is caught" % what
        dst = os.path.join(tmp, "vbreak%d" % i)
        if not edited_copy(src, dst, edits):
            rep.check(name, ["mutation did not apply"])
            continue
        out = os.path.join(tmp, "vbreak%d-out" % i)
        rc, text = run_policy_sh_on(tmp, "vbreak%d-root" % i, dst, script,
                                    TEST_ARGS + VERIFY_ARGS + ["OUT_DIR=" + out])
        if rc != 0:
            rep.check(name, ["policy.sh failed: %s" % text.splitlines()[-3:]])
            continue
        mine = [os.path.join(out, f) for f in OUR_FILES]
        if expect == "schema":
            found = xmllint(xsd, mine[0])
            hit = found
        else:
            found = [p for _, probs in analyse(packs + mine + pack_rps_kept(pack, mine[1:]),
                                               "verify", contract, mine) for p in probs]
            hit = [p for p in found if expect in p]
        rep.check(name, [] if hit else ["not reported; problems seen: %s" % found[:5]])
    with open(script, encoding="utf-8") as f:
        text = f.read()
    keep = "'/^ *<!-- verify:begin$/,/^ *verify:end -->$/d'"
    broken = os.path.join(tmp, "policy-broken.sh")
    with open(broken, "w", encoding="utf-8") as f:
        f.write(text.replace(keep, "'/^ *<!-- verify:begin$/d' '/^ *verify:end -->$/d'"))
    out = os.path.join(tmp, "abreak-out")
    rc, _ = run_policy_sh_on(tmp, "abreak-root", src, broken, TEST_ARGS + ["OUT_DIR=" + out])
    found = authy_build_problems(src, out) if keep in text and rc == 0 else []
    rep.check("self-test: Authy build: a Verify block let into it is caught",
              [] if found else ["not reported (policy.sh exit %d)" % rc])


def pack_rps_kept(pack, our_rp_paths):
    """The pack's relying parties that none of ours replaces (same PolicyId)."""
    ours = {load_xml(p).attrs.get("PolicyId", "").lower() for p in our_rp_paths}
    return [os.path.join(pack, f) for f in PACK_RPS
            if load_xml(os.path.join(pack, f)).attrs.get("PolicyId", "").lower() not in ours]


def path_failures(paths, ours):
    """The path check's problems for a tenant's set of files."""
    pset = PolicySet(paths, ours)
    return [p for name, probs in tenant_paths(pset) if name.startswith("path check")
            for p in probs]


def check_tenant_sets(rep, root, pack):
    """The path check fails where a token is issued without Authy: on the set
    before the protected journeys, and on the starter pack alone."""
    base = [os.path.join(pack, f) for f in PACK_FILES]
    fixture = os.path.join(root, "tests", "policy", "fixtures", "unprotected")
    old = [os.path.join(fixture, f) for f in ("TrustFrameworkExtensions.xml",
                                              "SignUpOrSignin.xml")]
    kept = pack_rps_kept(pack, old[1:])
    bad = path_failures(base + old + kept, old)
    want = ["B2C_1A_ProfileEdit", "B2C_1A_PasswordReset"]
    rep.check("path check fails on the unprotected set (its sign-in plus the pack's "
              "ProfileEdit and PasswordReset)",
              [] if all(any(w in p for p in bad) for w in want) else
              ["expected failures for %s; got %s" % (want, bad[:4])])
    alone = base + [os.path.join(pack, PACK_EXT)] + [os.path.join(pack, f) for f in PACK_RPS]
    bad = path_failures(alone, [])
    want = ["B2C_1A_signup_signin", "B2C_1A_ProfileEdit", "B2C_1A_PasswordReset"]
    rep.check("path check fails on the starter pack alone, for each of its relying parties",
              [] if all(any(w in p for p in bad) for w in want) else
              ["expected failures for %s; got %s" % (want, bad[:4])])
    digests = {}
    for f in PACK_VERSION:
        with open(os.path.join(pack, f), "rb") as fh:
            digests[f] = hashlib.sha256(fh.read()).hexdigest()[:16]
    if digests != PACK_VERSION:
        print("note: the starter pack differs from the version the policy was checked against "
              "(docs/policy.md): %s" % digests)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="static checks of the B2C custom policy")
    ap.add_argument("--root", default=os.environ.get("B2C_AUTHY_ROOT",
                                                     os.path.dirname(os.path.dirname(here))))
    ap.add_argument("--pack", default=None)
    opts = ap.parse_args()
    root = os.path.abspath(opts.root)
    pack = opts.pack or os.environ.get("B2C_STARTERPACK")
    if not pack:
        near = [os.path.join(root, up, "shared", "b2c-starterpack") for up in ("..", "../..")]
        pack = ([p for p in near if os.path.isdir(p)] or near)[0]
    pack = os.path.abspath(pack)
    xsd = os.path.join(pack, XSD_NAME)
    missing = [p for p in [xsd] + [os.path.join(pack, f) for f in PACK_FILES]
               if not os.path.isfile(p)]
    if missing:
        print("skipped: starter pack not found (%s)" % missing[0])
        print("0 passed, 0 failed")
        return 0
    if shutil.which("xmllint") is None:
        print("skipped: xmllint not installed")
        print("0 passed, 0 failed")
        return 0
    rep = Report()
    src = os.path.join(root, "policy")
    header = os.path.join(root, "src", "b2c", "b2c.h")
    strings = responder_strings(header)
    contract = responder_claims(header) + (strings,)
    rep.check("src/b2c/b2c.h defines input (B2C_CLAIM_*) and output (B2C_OUT_*) claim names",
              [] if all(contract) else ["found inputs %s, outputs %s" % contract[:2]])
    rep.check("src/b2c/b2c.h: the 409 body has the fields B2C reads", check_error_body(strings))
    rep.check("the code page's pattern takes the codes verifytoken takes",
              check_token_pattern(os.path.join(root, "policy", "TrustFrameworkExtensions.xml"),
                                  os.path.join(root, "src", "b2c", "b2c.h")))
    rep.check("an empty code box reaches the responder (token not Required)",
              check_token_optional(os.path.join(root, "policy", "TrustFrameworkExtensions.xml")))
    base_set = PolicySet([os.path.join(pack, f) for f in PACK_FILES] +
                         [os.path.join(root, "policy", f) for f in OUR_FILES], [])
    rep.check("docs/policy.md tells apps where the token carries the policy ID",
              check_docs_policy_claim(base_set, os.path.join(root, "docs", "policy.md")))
    rep.check("docs/policy.md names what the extensions file defines",
              check_docs_name_definitions(
                  os.path.join(root, "policy", "TrustFrameworkExtensions.xml"),
                  os.path.join(pack, PACK_EXT), os.path.join(root, "docs", "policy.md")))
    with tempfile.TemporaryDirectory(prefix="check_policy.") as tmp:
        doc = os.path.join(tmp, "policy.md")
        with open(os.path.join(root, "docs", "policy.md"), encoding="utf-8") as f:
            text = f.read().replace("`api.authy.code`", "api.authy.code")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(text)
        found = check_docs_name_definitions(
            os.path.join(root, "policy", "TrustFrameworkExtensions.xml"),
            os.path.join(pack, PACK_EXT), doc)
        rep.check("self-test: a definition the docs do not name is caught",
                  [] if any("`api.authy.code`" in p for p in found) else ["not reported"])
        with open(doc, "w", encoding="utf-8") as f:
            f.write(text.replace('FindFirst("acr")', 'FindFirst("tfp")'))
        rep.check("self-test: docs that read the policy ID from tfp alone are caught",
                  [] if check_docs_policy_claim(base_set, doc) else ["not reported"])
    with tempfile.TemporaryDirectory(prefix="check_policy.") as tmp:
        out = check_builder(rep, root, pack, tmp)
        check_authy_build(rep, root, out, tmp)
        vout = check_verify_builder(rep, root, pack, tmp)
        sets = [("raw", [os.path.join(pack, f) for f in PACK_FILES], src),
                ("out", [os.path.join(out, f) for f in PACK_FILES], out),
                ("verify", [os.path.join(vout, f) for f in PACK_FILES], vout)]
        for mode, base, where in sets:
            mine = [os.path.join(where, f) for f in OUR_FILES]
            for path in mine:
                rep.check("%s: schema-valid %s" % (mode, os.path.basename(path)),
                          xmllint(xsd, path) if os.path.isfile(path) else ["missing"])
            # The tenant's set: ours plus every pack relying party ours do not replace.
            paths = base + mine + pack_rps_kept(pack, mine[1:])
            if all(os.path.isfile(p) for p in paths):
                for name, problems in analyse(paths, mode, contract, mine):
                    rep.check(name, problems)
        check_tenant_sets(rep, root, pack)
        check_layered(rep, root, pack, tmp, contract)
        check_pfx(rep, root, tmp)
        self_tests(rep, src, pack, xsd, contract, tmp)
        self_tests_builds(rep, root, pack, xsd, contract, tmp)
    return rep.finish()


if __name__ == "__main__":
    sys.exit(main())
