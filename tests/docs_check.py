"""docs_check.py - keep the documentation true to the code: every user message
in src/b2c/b2c.h appears in README.md's error table, every configuration key of
the binary (from --check-config) is in README.md and in the example file, and
every option of --help is in README.md, and every claim of the B2C policy
(and each name its REST profiles exchange with the responder) is documented.
Ends with "N passed, N failed"."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "e2e"))
import stack  # noqa: E402


def main():
    t = stack.Counter()
    readme = open(os.path.join(stack.ROOT, "README.md")).read()
    example = open(os.path.join(stack.ROOT, "etc", "b2c-authy.conf.example")).read()
    hdr = open(os.path.join(stack.ROOT, "src", "b2c", "b2c.h")).read()
    hdr = re.sub(r'"\s*\\\n\s*"', "", hdr)
    hdr = re.sub(r"\\\n\s*", " ", hdr)
    msgs = re.findall(r'#define (B2C_MSG_\w+)\s+"((?:[^"\\]|\\.)*)"', hdr)
    t.check(len(msgs) >= 20, "user messages found in b2c.h", str(len(msgs)))
    for name, text in msgs:
        t.check(text in readme, f"README lists {name}", text)
    policy_claims(t, readme)
    if not os.access(stack.BIN, os.X_OK):
        print("skipped: binary missing for the key and option checks")
        return t.summary()
    env = {"PATH": "/usr/bin:/bin", "AUTHY_API_KEY": "docs-check-key-123",
           "CLIENT_CERT_CHECK": "false"}
    out = subprocess.run([stack.BIN, "--check-config"], env=env, capture_output=True,
                         text=True).stdout
    keys = re.findall(r"^([a-z_0-9]+) =", out, re.M)
    t.check(len(keys) >= 20, "--check-config prints the keys", str(len(keys)))
    for k in keys:
        t.check(f"`{k}`" in readme or f"`{k}" in readme, f"README mentions {k}")
        t.check(re.search(rf"^#?{k} =", example, re.M) is not None, f"example documents {k}")
    helptext = subprocess.run([stack.BIN, "--help"], capture_output=True, text=True).stdout
    for opt in re.findall(r"(--[a-z-]+)", helptext):
        t.check(opt in readme, f"README mentions {opt}")
    return t.summary()


def policy_claims(t, readme):
    """Every claim the policy defines is in docs/policy.md; every name its REST
    profiles send to or read from the responder is in README.md and
    docs/policy.md; both say what apps check in the token."""
    ns = "{http://schemas.microsoft.com/online/cpim/schemas/2013/06}"
    ext = ET.parse(os.path.join(stack.ROOT, "policy", "TrustFrameworkExtensions.xml")).getroot()
    guide = open(os.path.join(stack.ROOT, "docs", "policy.md")).read()
    for ct in ext.iter(ns + "ClaimType"):
        t.check(f"`{ct.get('Id')}`" in guide, f"docs/policy.md names claim {ct.get('Id')}")
    partners = set()
    for tp in ext.iter(ns + "TechnicalProfile"):
        proto = tp.find(ns + "Protocol")
        if proto is None or "RestfulProvider" not in proto.get("Handler", ""):
            continue
        for c in tp.iter():
            if c.tag in (ns + "InputClaim", ns + "OutputClaim") and c.get("PartnerClaimType"):
                partners.add(c.get("PartnerClaimType"))
    t.check(len(partners) >= 8, "policy REST claim names found", str(sorted(partners)))
    for name in sorted(partners):
        t.check(f"`{name}`" in readme, f"README names policy claim {name}")
        t.check(f"`{name}`" in guide, f"docs/policy.md names policy claim {name}")
    for doc, text in (("README", readme), ("docs/policy.md", guide)):
        t.check("`tfp`" in text and "`acr`" in text and "`authyApproved` is `true`" in text,
                f"{doc} says apps check the policy claim and authyApproved")


if __name__ == "__main__":
    sys.exit(main())
