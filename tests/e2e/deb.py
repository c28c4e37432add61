"""deb.py - the Debian package of b2c-authy, built, installed, run and purged
on this machine as an administrator would.

Builds the package with scripts/build-deb.sh (dpkg-buildpackage in a private
copy of the tree), checks it with lintian, installs it with
`apt-get install ./b2c-authy_*.deb` (nothing to download), checks the user, the
configuration's owner and mode, the units and the manual pages, that every
file b2c-authy(8)'s FILES, README.Debian and --help name is installed and only
root can change it, runs the
installed unit's ExecStart the way b2c-authy.socket would start it (the
socket passed as fd 3 by systemd-socket-activate, as the unit's User and
Group, the socket's group and mode from the socket unit) behind a private
nginx running the installed nginx site, against the mock Authy API; runs one
instance of the template units b2c-authy@.socket and b2c-authy@.service the
same way with its own configuration; checks TasksMax against the threads
libcurl may start at the largest upstream_connections; enables the web server
sites; then reinstalls it (the edited configuration stays as it is), removes it
(configuration, user, enabled instances and sites stay) and purges it (nothing
is left: files, configuration, user, group, stat override, unit state, instance
links, the links enabling the sites).

Root only; skips ("0 passed, 0 failed") otherwise, and when the package is
already installed or the tools are missing. Ends with "N passed, N failed".
"""
import glob
import gzip
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import stack  # noqa: E402
import webservers  # noqa: E402

PKG = "b2c-authy"
CONF = "/etc/b2c-authy/b2c-authy.conf"
KEY_FILE = "/etc/b2c-authy/authy-api-key"
UNITS = "/lib/systemd/system"
RUN_DIR = "/run/b2c-authy"
DOC = "/usr/share/doc/b2c-authy"
NGINX_SITE = "/etc/nginx/sites-available/b2c-authy.conf"
INSTANCE = "deb1"  # the name of the template instance the suite runs and enables
INSTANCE_CONF = f"/etc/b2c-authy/{INSTANCE}.conf"
# What the templates may set differently from b2c-authy.socket and .service;
# every other setting (user, limits, hardening, restart) must be the same.
TEMPLATE_DIFFERS = {
    "b2c-authy@.socket": {"Description": "b2c-authy FastCGI socket (instance %i)",
                          "ListenStream": "/run/b2c-authy/%i.sock"},
    "b2c-authy@.service": {
        "Description": "b2c-authy FastCGI responder, instance %i (Azure AD B2C push "
                       "approval via Authy)",
        "Requires": "b2c-authy@%i.socket",
        "After": "b2c-authy@%i.socket network-online.target",
        "ExecStart": "/usr/lib/b2c-authy/b2c-authy.fcgi -c /etc/b2c-authy/%i.conf",
        "SyslogIdentifier": "b2c-authy@%i",
        "Also": "b2c-authy@%i.socket"},
}
# The links that enable the web server sites, with the command README.Debian names
# (ln -s where the server has none or it is not installed), and their targets.
SITES = [("/etc/nginx/sites-enabled/b2c-authy.conf", "../sites-available/b2c-authy.conf", None),
         ("/etc/apache2/sites-enabled/b2c-authy.conf", "../sites-available/b2c-authy.conf",
          ["a2ensite", "-q", "b2c-authy"]),
         ("/etc/lighttpd/conf-enabled/50-b2c-authy.conf", "../conf-available/50-b2c-authy.conf",
          ["lighty-enable-mod", "b2c-authy"])]
APACHE_MARKER = "/var/lib/apache2/site/enabled_by_admin/b2c-authy"
# The tasks of the service besides libcurl's resolver threads (one per connection
# being opened, up to upstream_connections): the event loop, with some spare.
TASKS_BESIDES_RESOLVERS = 8
EXPOSURE_MAX = 2.0  # systemd-analyze security: the installed service is rated 1.5 "OK"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
       "LC_ALL": "C.UTF-8"}


def run(cmd, timeout=600, **kw):
    if cmd[0] == "apt-get":  # wait for another apt or dpkg run instead of failing
        cmd = cmd[:1] + ["-o", "DPkg::Lock::Timeout=300"] + cmd[1:]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=ENV, timeout=timeout, **kw)


def pkg_status():
    r = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG])
    return r.stdout.strip() if r.returncode == 0 else ""


def has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def unit_values(path):
    """key -> [values] of a unit file (every occurrence, in order)."""
    out = {}
    for line in open(path):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def instance_links():
    """The links that enable instances of the template units."""
    return [p for p in glob.glob("/etc/systemd/system/*.wants/b2c-authy@*") +
            glob.glob("/etc/systemd/system/*.requires/b2c-authy@*") if os.path.islink(p)]


# Instances of the template units the stand-in systemctl shows as loaded: one
# socket-activated and running, one whose socket waits for a first call, one failed
# (marked with a leading "●", as systemctl marks failed units).
FAKE_UNITS = [("b2c-authy@tenant1.socket", "active"), ("b2c-authy@tenant1.service", "active"),
              ("b2c-authy@tenant2.socket", "active"), ("b2c-authy@tenant3.socket", "active"),
              ("b2c-authy@tenant3.service", "failed")]
LIST_UNITS = """case " $* " in *" list-units "*) ;; *) exit 0 ;; esac
set -f
state=
pats=
for a; do
	case $a in --state=*) state=${a#--state=} ;; b2c-authy@*) pats="$pats $a" ;; esac
done
printf '%s\\n' """ + " ".join(f"'{'● ' if s == 'failed' else ''}{u} loaded {s} x b2c-authy'"
                               for u, s in FAKE_UNITS) + """ |
while read -r line; do
	set -- ${line#● }
	[ -z "$state" ] || [ "$3" = "$state" ] || continue
	for p in $pats; do
		case $1 in $p) echo "$line" ;; esac
	done
done
"""


def site_links():
    """The links that enable the package's web server sites, where they exist."""
    return [link for link, _, _ in SITES if os.path.islink(link)]


def missing():
    if os.geteuid() != 0:
        return "not root (the suite installs and purges a package)"
    for tool in ("dpkg-buildpackage", "lintian", "apt-get", "systemd-socket-activate", "setpriv",
                 "nginx", "curl", "git"):
        if webservers.which(tool) is None:
            return f"{tool} not installed"
    if pkg_status() not in ("", "un"):
        return f"package {PKG} is installed here already ({pkg_status()}); not touching it"
    if has_user(PKG) or os.path.exists("/etc/b2c-authy"):
        return "a b2c-authy user or /etc/b2c-authy exists already; not touching it"
    if instance_links():
        return "instances of b2c-authy@ are enabled here already; not touching them"
    if site_links() or os.path.exists(APACHE_MARKER):
        return "a b2c-authy web server site is enabled here already; not touching it"
    if run(["git", "-C", stack.ROOT, "rev-parse"]).returncode != 0:
        return "not a git checkout"
    return None


class InstalledNginx(webservers.Nginx):
    """A private nginx running the site the package installed."""
    shipped = NGINX_SITE


class Run:
    def __init__(self, t, work):
        self.t = t
        self.work = work
        self.files = []
        self.mock = None
        self.web = None
        self.proc = None
        self.sock = os.path.join(work, "b2c-authy.sock")

    # ---- build and install ----

    def build(self):
        t = self.t
        out = os.path.join(self.work, "deb")
        r = run(["bash", os.path.join(stack.ROOT, "scripts", "build-deb.sh"), out])
        debs = glob.glob(os.path.join(out, f"{PKG}_*.deb"))
        if not t.check(r.returncode == 0 and len(debs) == 1,
                       "dpkg-buildpackage -us -uc -b builds the package", r.stdout[-3000:]):
            raise RuntimeError("no package")
        self.deb = debs[0]
        changes = glob.glob(os.path.join(out, "*.changes"))
        r = run(["lintian", "--fail-on", "error,warning"] + changes, timeout=300)
        tags = [line for line in r.stdout.splitlines() if re.match(r"^[EW]: ", line)]
        t.check(r.returncode == 0 and not tags,
                "lintian: no errors, every warning explained in an override", r.stdout[-2000:])
        r = run(["dpkg-deb", "-c", self.deb])
        for path in ("./etc/nginx/sites-available/b2c-authy.conf",
                     "./etc/apache2/sites-available/b2c-authy.conf",
                     "./etc/lighttpd/conf-available/50-b2c-authy.conf",
                     "./usr/share/man/man8/b2c-authy.8.gz",
                     "./usr/share/man/man5/b2c-authy.conf.5.gz",
                     "./lib/systemd/system/b2c-authy@.socket",
                     "./lib/systemd/system/b2c-authy@.service"):
            t.check(re.search(rf" {re.escape(path)}$", r.stdout, re.M) is not None,
                    f"package holds {path[1:]}")

    def install(self):
        t = self.t
        r = run(["apt-get", "install", "-y", "-q", self.deb])
        if not t.check(r.returncode == 0 and pkg_status() == "ii" and
                       not re.search(r"^Get:\d+ [a-z+]+://", r.stdout, re.M),
                       "apt-get install ./b2c-authy_*.deb (nothing downloaded)",
                       r.stdout[-3000:]):
            raise RuntimeError("install failed")
        self.files = run(["dpkg-query", "-L", PKG]).stdout.split()

    def check_installed(self):
        t = self.t
        try:
            pw = pwd.getpwnam(PKG)
        except KeyError:
            pw = None
        t.check(pw is not None and pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin")
                and not os.path.exists(pw.pw_dir), "system user b2c-authy without a home",
                repr(pw))
        t.check(has_group(PKG), "group b2c-authy")
        st = os.stat(CONF)
        t.check(stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and
                grp.getgrgid(st.st_gid).gr_name == PKG,
                f"{CONF} root:b2c-authy 0640", f"{oct(st.st_mode)} {st.st_uid}:{st.st_gid}")
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PKG]).stdout
        t.check(CONF in conffiles, f"{CONF} is a conffile", conffiles)
        t.check(run(["dpkg-statoverride", "--list", CONF]).returncode == 0,
                "the owner and mode are a stat override (kept across upgrades)")
        for unit in ("b2c-authy.socket", "b2c-authy.service", "b2c-authy@.socket",
                     "b2c-authy@.service"):
            r = run(["systemctl", "is-enabled", unit])
            t.check(r.stdout.strip() == "disabled", f"{unit} installed, not enabled",
                    r.stdout.strip())
        for installed, src in ((NGINX_SITE, "nginx/b2c-authy.conf"),
                               ("/etc/apache2/sites-available/b2c-authy.conf",
                                "apache/b2c-authy.conf"),
                               ("/etc/lighttpd/conf-available/50-b2c-authy.conf",
                                "lighttpd/b2c-authy.conf"),
                               (CONF, "etc/b2c-authy.conf.example")):
            same = (os.path.exists(installed) and open(installed).read() ==
                    open(os.path.join(stack.ROOT, src)).read())
            t.check(same, f"{installed} is the tested {src}")
        pages = {("8", "b2c-authy"), ("5", "b2c-authy.conf")}
        # Every page the units name in Documentation= (systemctl help opens them).
        for unit in ("b2c-authy.socket", "b2c-authy.service", "b2c-authy@.socket",
                     "b2c-authy@.service"):
            for doc in " ".join(unit_values(f"{UNITS}/{unit}").get("Documentation", [])).split():
                m = re.fullmatch(r"man:([\w.@-]+)\((\d)\)", doc)
                t.check(m is not None, f"{unit}: Documentation= {doc} is a manual page", doc)
                if m:
                    pages.add((m.group(2), m.group(1)))
        for sec, name in sorted(pages):
            r = run(["man", "-w", sec, name])
            t.check(r.returncode == 0 and r.stdout.startswith("/usr/share/man/"),
                    f"man {sec} {name} finds the installed page", r.stdout)
        self.check_guides()
        self.check_documented_files()
        self.check_prerm()
        self.check_postinst_upgrade()
        self.check_tasks_max()
        t.check("PartOf" not in unit_values(f"{UNITS}/b2c-authy.socket"),
                "the socket is no part of the service: restarting the service keeps it",
                repr(unit_values(f"{UNITS}/b2c-authy.socket")))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                            f"{UNITS}/b2c-authy.socket", f"{UNITS}/b2c-authy.service"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=dict(ENV, SYSTEMD_LOG_TARGET="console"))
        t.check(p.returncode == 0 and not p.stdout.strip(),
                "systemd-analyze verify: installed units clean", p.stdout[-1500:])
        self.check_exposure(f"{UNITS}/b2c-authy.service")
        self.check_templates()

    def check_exposure(self, unit):
        """The sandbox as systemd rates it, read off the installed unit: an overall
        exposure of at most EXPOSURE_MAX (0 = fully sandboxed, 10 = none)."""
        p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                            f"--threshold={int(EXPOSURE_MAX * 10)}", unit],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=dict(ENV, SYSTEMD_LOG_TARGET="console"))
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", p.stdout)
        self.t.check(p.returncode == 0 and m and float(m.group(1)) <= EXPOSURE_MAX,
                     f"systemd-analyze security: {os.path.basename(unit)} exposure "
                     f"{m.group(1) if m else '?'} <= {EXPOSURE_MAX}", p.stdout[-1500:])

    def check_guides(self):
        """Every guide the installed README points to (docs/NAME.md) is installed beside it."""
        t = self.t
        path = next((p for p in (f"{DOC}/README.md", f"{DOC}/README.md.gz") if os.path.exists(p)),
                    None)
        if not t.check(path, f"the README is installed in {DOC}"):
            return
        with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as f:
            readme = f.read()
        guides = sorted(set(re.findall(r"docs/([\w-]+\.md)", readme)))
        t.check(guides, "the README names its guides", repr(guides))
        for g in guides:
            have = [p for p in (f"{DOC}/{g}", f"{DOC}/{g}.gz") if os.path.exists(p)]
            t.check(have, f"the guide {g} the README names is installed in {DOC}",
                    repr(sorted(os.listdir(DOC)) if os.path.isdir(DOC) else DOC))

    def check_documented_files(self):
        """Every file of the package that b2c-authy(8)'s FILES, README.Debian or --help
        name is installed, and none of them can be changed by anyone but root; the
        responder is executable."""
        t = self.t
        page = open(os.path.join(stack.ROOT, "man", "b2c-authy.8.in")).read()
        page = page.partition(".SH FILES")[2].partition(".SH ")[0]
        debian = open(os.path.join(stack.ROOT, "debian", "README.Debian")).read()
        helptext = run(["/usr/lib/b2c-authy/b2c-authy.fcgi", "--help"]).stdout
        named = set()
        for text in (page, debian, helptext):
            for path in re.findall(r"(?<![\w.])(/(?:usr|lib|etc)/[\w./@-]*[\w/])", text):
                # not the instance placeholder, the admin's certificates, or enabled links
                if "NAME" not in path and not path.startswith("/etc/b2c-authy/tls") and \
                        "-enabled/" not in path:
                    named.add(path)
        named |= {f"{DOC}/{g}" for g in re.findall(r"\b([\w-]+\.md\.gz)\b", debian)}
        if "b2c-authy.conf.example" in helptext and f"{DOC}/examples/" in helptext:
            named.add(f"{DOC}/examples/b2c-authy.conf.example")
        t.check(len(named) >= 12, "the guides name the package's files", repr(sorted(named)))
        for path in sorted(named):
            if not t.check(os.path.exists(path), f"{path}, as the guides name it, is installed"):
                continue
            st = os.stat(path)
            t.check(st.st_uid == 0 and not st.st_mode & 0o022,
                    f"{path}: only root can change it",
                    f"{oct(st.st_mode)} uid={st.st_uid}")
            if path.endswith(".fcgi"):
                t.check(stat.S_IMODE(st.st_mode) == 0o755, f"{path} is mode 0755",
                        oct(st.st_mode))

    def check_tasks_max(self):
        """TasksMax leaves room for a resolver thread per upstream connection at the
        largest upstream_connections the installed binary accepts (libcurl resolves
        each new connection's name on a thread of its own)."""
        t = self.t
        svc = unit_values(f"{UNITS}/b2c-authy.service")
        binary = svc["ExecStart"][0].split()[0]
        r = subprocess.run([binary, "-c", CONF, "--check-config"], capture_output=True,
                           text=True, env=dict(ENV, UPSTREAM_CONNECTIONS="1000000000"))
        m = re.search(r"UPSTREAM_CONNECTIONS: expected an integer in 1\.\.(\d+)", r.stderr)
        if not t.check(r.returncode == 2 and m, "the binary names the upstream_connections range",
                       r.stderr[-300:]):
            return
        most = int(m.group(1))
        tasks = svc.get("TasksMax", ["infinity"])[-1]
        t.check(tasks == "infinity" or int(tasks) >= most + TASKS_BESIDES_RESOLVERS,
                f"TasksMax ({tasks}) holds the loop and a resolver thread for each of "
                f"upstream_connections at its maximum ({most})", repr(tasks))

    def check_templates(self):
        """The template units: the instance's socket and configuration, and every other
        setting that of the plain units; systemd-analyze verifies an instance of them."""
        t = self.t
        for name, differs in TEMPLATE_DIFFERS.items():
            plain = unit_values(f"{UNITS}/{name.replace('@', '')}")
            tmpl = unit_values(f"{UNITS}/{name}")
            want = dict(plain, **{k: [v] for k, v in differs.items()})
            t.check(tmpl == want, f"{name}: the instance's names, the rest as in the plain unit",
                    repr({k: (plain.get(k), tmpl.get(k)) for k in set(plain) | set(tmpl)
                          if want.get(k) != tmpl.get(k)}))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", f"b2c-authy@{INSTANCE}.socket",
                            f"b2c-authy@{INSTANCE}.service"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=dict(ENV, SYSTEMD_LOG_TARGET="console"))
        t.check(p.returncode == 0 and not p.stdout.strip(),
                f"systemd-analyze verify: instance {INSTANCE} of the templates clean",
                p.stdout[-1500:])

    def fake_systemd(self, name):
        """A stand-in for systemd: its run directory, and deb-systemd-invoke,
        deb-systemd-helper and systemctl that record their calls in the file calls.
        systemctl list-units shows FAKE_UNITS (with --state=, only those in that state),
        loaded instances of the template units. Returns (dir, calls, env)."""
        fake = os.path.join(self.work, name)
        os.makedirs(os.path.join(fake, "run"), exist_ok=True)
        os.makedirs(os.path.join(fake, "bin"), exist_ok=True)
        calls = os.path.join(fake, "calls")
        for tool in ("deb-systemd-invoke", "deb-systemd-helper", "systemctl"):
            with open(os.path.join(fake, "bin", tool), "w") as f:
                f.write(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
            os.chmod(os.path.join(fake, "bin", tool), 0o755)
        with open(os.path.join(fake, "bin", "systemctl"), "a") as f:
            f.write(LIST_UNITS)
        env = dict(ENV, PATH=f"{os.path.join(fake, 'bin')}:{ENV.get('PATH', '/usr/bin:/bin')}")
        if os.path.exists(calls):
            os.unlink(calls)
        return fake, calls, env

    def check_prerm(self):
        """The installed prerm stops both units and every loaded instance of the
        templates on removal, and nothing on upgrade. Run with a stand-in for
        systemd, as this machine's PID 1 is no systemd."""
        t = self.t
        path = f"/var/lib/dpkg/info/{PKG}.prerm"
        if not t.check(os.path.exists(path), "the package has a prerm"):
            return
        fake, calls, env = self.fake_systemd("prerm-systemd")
        script = open(path).read().replace("/run/systemd/system", os.path.join(fake, "run"))
        seen = {}
        for action in ("upgrade", "remove"):
            if os.path.exists(calls):
                os.unlink(calls)
            r = subprocess.run(["sh", "-c", script, "prerm", action, "0.1.0"], env=env,
                               capture_output=True, text=True)
            lines = open(calls).read().splitlines() if os.path.exists(calls) else []
            seen[action] = (r.returncode, [ln.split()[1:] for ln in lines
                                           if ln.startswith("deb-systemd-invoke ")])
        stopped = sorted(u for call in seen["remove"][1] if call[:1] == ["stop"]
                         for u in call[1:])
        t.check(seen["remove"][0] == 0 and all(c[:1] == ["stop"] for c in seen["remove"][1]) and
                stopped == sorted(["b2c-authy.service", "b2c-authy.socket"] +
                                  [u for u, _ in FAKE_UNITS]),
                "prerm remove stops the service, the socket and every loaded instance",
                repr(seen))
        t.check(seen["upgrade"] == (0, []), "prerm upgrade stops nothing (postinst restarts)",
                repr(seen))

    def check_postinst_upgrade(self):
        """On upgrade the installed postinst restarts the service and never the socket,
        whose queue holds the calls that arrive while the old responder drains. Run with
        stand-ins for systemd and its helpers that record their calls."""
        t = self.t
        path = f"/var/lib/dpkg/info/{PKG}.postinst"
        if not t.check(os.path.exists(path), "the package has a postinst"):
            return
        fake, calls, env = self.fake_systemd("postinst-systemd")
        script = open(path).read().replace("/run/systemd/system", os.path.join(fake, "run"))
        r = subprocess.run(["sh", "-c", script, "postinst", "configure", "0.0.9"], env=env,
                           capture_output=True, text=True)
        lines = open(calls).read().splitlines() if os.path.exists(calls) else []
        invoked = [ln.split()[1:] for ln in lines if ln.startswith("deb-systemd-invoke ")]
        stopping = [a for a in invoked if a and a[0] in ("restart", "stop", "try-restart")]
        t.check(r.returncode == 0 and ["restart", "b2c-authy.service"] in stopping and
                not any("b2c-authy.socket" in a for a in stopping),
                "postinst upgrade restarts the service, not the socket", repr(lines) + r.stderr)
        running = [u for u, state in FAKE_UNITS if u.endswith(".service") and state == "active"]
        restarted = sorted(u for a in stopping for u in a[1:] if "@" in u)
        t.check(r.returncode == 0 and restarted == running and
                all(a[0] == "restart" for a in stopping),
                "postinst upgrade restarts the running instances, not their sockets nor the "
                "stopped ones", repr(lines))

    # ---- the installed unit, run ----

    def exec_start(self):
        """ExecStart, User and Group of the installed service; SocketGroup and
        SocketMode of the installed socket."""
        svc = unit_values(f"{UNITS}/b2c-authy.service")
        sock = unit_values(f"{UNITS}/b2c-authy.socket")
        return (svc["ExecStart"][0].split(), svc["User"][0], svc["Group"][0],
                sock["SocketGroup"][0], int(sock["SocketMode"][0], 8), svc)

    def check_unconfigured(self):
        """With the shipped configuration (no API key) the service refuses to
        start with status 2, which the unit does not restart."""
        t = self.t
        cmd, user, group, _, _, svc = self.exec_start()
        r = run(["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"] + cmd,
                timeout=10)
        t.check(r.returncode == 2 and "configuration error" in r.stdout and
                "authy_api_key" in r.stdout,
                "unconfigured: ExecStart exits 2 naming the missing API key", r.stdout[-500:])
        t.check("2" in " ".join(svc.get("RestartPreventExitStatus", [])).split(),
                "the unit does not restart on status 2 (no crash loop)",
                repr(svc.get("RestartPreventExitStatus")))

    def configure(self):
        """Fill in the installed configuration as an administrator would."""
        tp = stack.thumbprints(self.certs)
        # The key in a file of its own, as docs/deployment.md recommends.
        with open(KEY_FILE, "w") as f:
            f.write(stack.API_KEY + "\n")
        shutil.chown(KEY_FILE, "root", PKG)
        os.chmod(KEY_FILE, 0o640)
        self.settings = {"authy_api_key_file": KEY_FILE, "authy_api_url": self.mock.url,
                         "authy_ca_file": os.path.join(self.certs, "ca.pem"),
                         "client_cert_thumbprints": tp["client"], "wait_budget_ms": 8000,
                         "poll_interval_ms": 200}
        with open(CONF, "a") as f:  # keeps the owner and mode of the conffile
            f.write("\n# set by the test\n")
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")

    def start_activated(self):
        """The service as systemd would start it from b2c-authy.socket."""
        t = self.t
        cmd, user, group, sgroup, smode, _ = self.exec_start()
        t.check(os.access(cmd[0], os.X_OK) and cmd[0].startswith("/usr/lib/b2c-authy/"),
                "ExecStart runs the installed binary", cmd[0])
        self.log = open(os.path.join(self.work, "service.log"), "ab")
        self.proc = subprocess.Popen(
            [webservers.which("systemd-socket-activate"), "-l", self.sock, "--",
             "setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"] + cmd,
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"})
        stack.wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 10,
                       "the activation socket")
        shutil.chown(self.sock, "root", sgroup)
        os.chmod(self.sock, smode)

    def check_through_nginx(self):
        t = self.t
        self.web = InstalledNginx(self.work, self.certs, self.sock)
        ok, out = self.web.check_config()
        t.check(ok, "nginx accepts the installed site", out[-1500:])
        self.web.start()
        curl = webservers.Curl(self.work, self.certs)
        r = curl(self.web.url + webservers.REGISTER,
                 body={"email": "autoapprove200@example.com", "phoneNumber": "+1 415 555 0142"})
        aid = (r.json or {}).get("authyId") if isinstance(r.json, dict) else None
        t.check(r.status == 200 and aid, "installed service: register through nginx -> 200",
                repr(r))
        r = curl(self.web.url + webservers.WAIT,
                 body={"authyId": str(aid), "signInName": "deb@example.com",
                       "correlationId": "cid-deb"})
        t.check(r.status == 200 and r.json == {"authyApproved": True},
                "installed service: wait through nginx -> approved 200 authyApproved", repr(r))
        r = curl(self.web.url + webservers.REGISTER, cert="client2",
                 body={"email": "a@example.com", "phoneNumber": "+1 415 555 0143"})
        t.check(webservers.b2c_error(r, 403), "a certificate not allow-listed: 403", repr(r))
        self.proc.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        rc = self.proc.wait(15)
        print(f"# stopped in {time.monotonic() - stopping:.1f}s")
        t.check(rc == 0, "installed service exits 0 on SIGTERM", f"rc={rc}")
        log = open(os.path.join(self.work, "service.log"), errors="replace").read()
        stack.scan_secrets(log, "installed service", {"authy_api_key": stack.API_KEY})
        t.check("started version=" in log, "the service logged its start", log[-500:])

    # ---- an instance of the template units, run ----

    def check_instance(self):
        """One instance as systemd would start it from b2c-authy@deb1.socket: its own
        configuration (/etc/b2c-authy/deb1.conf), the socket passed as fd 3; /healthz
        answers through it. Then enabled as an administrator would, for remove and purge."""
        t = self.t
        svc = unit_values(f"{UNITS}/b2c-authy@.service")
        sock = unit_values(f"{UNITS}/b2c-authy@.socket")
        cmd = [a.replace("%i", INSTANCE) for a in svc["ExecStart"][0].split()]
        listen = sock["ListenStream"][0].replace("%i", INSTANCE)
        t.check(cmd[-2:] == ["-c", INSTANCE_CONF] and listen == f"/run/b2c-authy/{INSTANCE}.sock",
                f"instance {INSTANCE}: ExecStart reads {INSTANCE_CONF}, the socket is {listen}",
                repr((cmd, listen)))
        # The configuration of the plain service, with a mark of its own.
        shutil.copyfile(CONF, INSTANCE_CONF)
        shutil.chown(INSTANCE_CONF, "root", PKG)
        os.chmod(INSTANCE_CONF, 0o640)
        with open(INSTANCE_CONF, "a") as f:
            f.write("max_waits = 777\n")
        # The socket where the suite may create it; its name is the instance's.
        path = os.path.join(self.work, os.path.basename(listen))
        log_path = os.path.join(self.work, f"{INSTANCE}.log")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [webservers.which("systemd-socket-activate"), "-l", path, "--",
                 "setpriv", f"--reuid={svc['User'][0]}", f"--regid={svc['Group'][0]}",
                 "--init-groups"] + cmd,
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
        try:
            stack.wait_for(lambda: os.path.exists(path) or proc.poll() is not None, 10,
                           "the instance's activation socket")
            shutil.chown(path, sock["SocketUser"][0], sock["SocketGroup"][0])
            os.chmod(path, int(sock["SocketMode"][0], 8))
            r = stack.fcgi(path, "GET", "/healthz", {}, b"", None)
            t.check(r.status == 200, f"instance {INSTANCE}: /healthz through its socket -> 200",
                    repr(r))
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log = open(log_path, errors="replace").read()
        t.check(rc == 0 and re.search(r"started version=\S+ \S+ max_waits=777 ", log),
                f"instance {INSTANCE}: started with its own configuration, exits 0 on SIGTERM",
                f"rc={rc} " + log[-800:])
        stack.scan_secrets(log, f"instance {INSTANCE}", {"authy_api_key": stack.API_KEY})
        r = run(["systemctl", "enable", f"b2c-authy@{INSTANCE}.service"])
        links = sorted(instance_links())
        t.check(r.returncode == 0 and run(["systemctl", "is-enabled",
                                           f"b2c-authy@{INSTANCE}.socket"]).stdout.strip()
                == "enabled" and len(links) == 2,
                f"systemctl enable b2c-authy@{INSTANCE}.service enables its socket too (Also=)",
                r.stdout + repr(links))

    # ---- the web server sites ----

    def enable_sites(self):
        """Enable the installed sites as README.Debian says (a2ensite, lighty-enable-mod,
        ln -s for nginx), so that remove and purge meet them."""
        t = self.t
        for link, target, cmd in SITES:
            if not os.path.isdir(os.path.dirname(link)):
                continue
            if cmd is not None and webservers.which(cmd[0]) is not None:
                r = run(cmd)
                ok = r.returncode == 0
            else:
                os.symlink(target, link)
                ok, r = True, None
            t.check(ok and os.path.islink(link) and os.readlink(link) == target and
                    os.path.isfile(link), f"{link} enables the installed site",
                    r.stdout[-500:] if r else "")

    def check_sites_kept(self):
        t = self.t
        links = site_links()
        t.check(links and all(os.path.isfile(link) for link in links),
                "remove: the enabled web server sites stay, with their files", repr(links))

    def check_sites_gone(self):
        """nginx and lighttpd refuse to start with a link to a missing file: purge
        removes the links to the sites it removed, and no other link."""
        t = self.t
        t.check(not site_links() and not os.path.exists(APACHE_MARKER),
                "purge: the links enabling the web server sites are gone, with a2ensite's "
                "marker", repr(site_links()))
        others = {d: sorted(os.listdir(d)) for d in
                  {os.path.dirname(link) for link, _, _ in SITES} if os.path.isdir(d)}
        t.check(others == self.other_sites, "purge: the other enabled sites stay",
                repr((self.other_sites, others)))

    # ---- remove and purge ----

    def check_reinstall(self):
        """An upgrade (here: the same version again) keeps the edited
        configuration, its owner and its mode."""
        t = self.t
        r = run(["apt-get", "install", "-y", "-q", "--reinstall", self.deb])
        t.check(r.returncode == 0 and pkg_status() == "ii", "apt-get install --reinstall",
                r.stdout[-2000:])
        st = os.stat(CONF)
        t.check("set by the test" in open(CONF).read() and stat.S_IMODE(st.st_mode) == 0o640
                and grp.getgrgid(st.st_gid).gr_name == PKG,
                "reinstall keeps the edited configuration, root:b2c-authy 0640",
                f"{oct(st.st_mode)} gid={st.st_gid}")

    def check_remove(self):
        t = self.t
        r = run(["apt-get", "remove", "-y", "-q", PKG])
        t.check(r.returncode == 0 and pkg_status() == "rc", "apt-get remove", r.stdout[-2000:])
        t.check(not os.path.exists("/usr/lib/b2c-authy/b2c-authy.fcgi") and
                not os.path.exists(f"{UNITS}/b2c-authy.service"),
                "remove: the binary and the units are gone")
        t.check(os.path.exists(CONF) and "set by the test" in open(CONF).read()
                and os.path.exists(KEY_FILE), "remove: the edited configuration and key file stay")
        t.check(has_user(PKG), "remove: the user stays")
        t.check(len(instance_links()) == 2 and os.path.exists(INSTANCE_CONF),
                f"remove: instance {INSTANCE} stays enabled, with its configuration",
                repr(instance_links()))

    def check_purge(self):
        t = self.t
        # What a responder under spawn-fcgi leaves where systemd is not PID 1: the socket.
        os.makedirs(RUN_DIR, exist_ok=True)
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(os.path.join(RUN_DIR, "b2c-authy.sock"))
        r = run(["apt-get", "purge", "-y", "-q", PKG])
        t.check(r.returncode == 0 and pkg_status() in ("", "un"), "apt-get purge",
                r.stdout[-2000:])
        t.check(not os.path.exists("/etc/b2c-authy"),
                "purge: /etc/b2c-authy is gone, with the administrator's key file")
        t.check(not has_user(PKG) and not has_group(PKG), "purge: user and group are gone")
        t.check(not os.path.exists(RUN_DIR), "purge: /run/b2c-authy and its socket are gone")
        t.check(run(["dpkg-statoverride", "--list", CONF]).returncode != 0,
                "purge: no stat override left")
        left = [f for f in self.files if (os.path.isfile(f) and not os.path.islink(f))
                or (os.path.isdir(f) and "b2c-authy" in f)]
        t.check(self.files and not left, "purge: nothing of the package's file list is left",
                repr(left[:10]))
        state = glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/*b2c-authy*", recursive=True)
        state += glob.glob("/etc/systemd/system/**/*b2c-authy*", recursive=True)
        state += glob.glob(f"/var/lib/dpkg/info/{PKG}.*")
        state += instance_links()
        t.check(not state, "purge: no unit state or dpkg metadata left", repr(state[:10]))

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for part in (self.web, self.mock):
            if part is not None:
                try:
                    part.stop() if hasattr(part, "stop") else part.close()
                except Exception as e:  # keep stopping the rest
                    print(f"# stopping {part}: {e!r}")
        if pkg_status() not in ("", "un"):
            print("# purging the package left behind by a failed step")
            run(["apt-get", "purge", "-y", "-q", PKG])
        for link in instance_links() + site_links():
            print(f"# removing {link} left behind")
            os.unlink(link)
        if os.path.exists(APACHE_MARKER):
            os.unlink(APACHE_MARKER)


def main():
    t = stack.Counter()
    why = missing()
    if why:
        t.skip(why)
        return t.summary()
    work = stack.tempdir()
    os.chmod(work, 0o711)  # the service user and nginx's workers reach files inside
    started = time.monotonic()
    r = Run(t, work)
    try:
        r.build()
        r.install()
        r.check_installed()
        r.check_unconfigured()
        r.certs = stack.make_certs(work)
        os.chmod(r.certs, 0o755)
        r.mock = stack.Mock(work, r.certs)
        r.configure()
        r.start_activated()
        r.check_through_nginx()
        r.check_instance()
        r.other_sites = {d: sorted(os.listdir(d)) for d in
                         {os.path.dirname(link) for link, _, _ in SITES} if os.path.isdir(d)}
        r.enable_sites()
        r.check_reinstall()
        r.check_remove()
        r.check_sites_kept()
        r.check_purge()
        r.check_sites_gone()
    except Exception as e:
        t.check(False, "deb suite step", repr(e))
    finally:
        r.close()
        if t.failed and r.web is not None:
            print(r.web.errors())
        stack.remove_tempdir(work)
    print(f"# deb suite took {time.monotonic() - started:.1f}s")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
