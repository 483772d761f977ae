"""test_package.py — the Debian package (DESIGN.md, Deployment): `cpack` in this build tree
writes dealerbot_<version>_<arch>.deb; its file list (dpkg-deb -c), its control fields
(dpkg-deb -f: Depends from dpkg-shlibdeps plus adduser), /etc/dealerbot/dealerbot.conf as a
conffile and the maintainer scripts (valid sh, executable) are checked. Skipped cleanly where
dpkg-deb or dpkg-shlibdeps is missing (scripts/deps.sh installs dpkg-dev)."""

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import io

import dbot
from dbot import check, eq

BUILD = os.environ.get("DBOT_BINARY_DIR") or os.path.dirname(os.path.dirname(dbot.BIN))


def project_version():
    with open(os.path.join(dbot.SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(dealerbot VERSION ([0-9.]+)", f.read()).group(1)


def test_deb_contents_conffiles_depends_scripts(t):
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "dpkg"):
        if not shutil.which(tool):
            print("skip: %s is not installed" % tool)
            return
    out = tempfile.mkdtemp(prefix="dbot-deb-")
    try:
        p = subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=BUILD, capture_output=True,
                           timeout=240)
        eq(p.returncode, 0, "cpack: %s" % (p.stdout + p.stderr).decode()[-1500:])
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                              text=True).stdout.strip()
        name = "dealerbot_%s_%s.deb" % (project_version(), arch)
        deb = os.path.join(out, name)
        check(os.path.isfile(deb), "%s not in %s" % (name, os.listdir(out)))

        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                                 check=True).stdout
        files = {}
        for line in listing.splitlines():
            cols = line.split(None, 5)
            files[cols[5].split(" -> ")[0].lstrip(".")] = cols[0]
        for f in ("/usr/bin/dealerbot", "/usr/share/dealerbot/messages/zh-CN.msg",
                  "/usr/share/dealerbot/messages/en.msg", "/usr/lib/systemd/system/dealerbot.service",
                  "/usr/share/man/man8/dealerbot.8", "/usr/share/man/man5/dealerbot.conf.5",
                  "/usr/share/doc/dealerbot/README.md",
                  "/usr/share/doc/dealerbot/dealerbot.example.conf",
                  "/usr/share/doc/dealerbot/dealerbot-backup.service",
                  "/usr/share/doc/dealerbot/dealerbot-backup.timer",
                  "/etc/dealerbot/dealerbot.conf"):
            check(f in files, "%s is not in the package:\n%s" % (f, listing))
        eq(files["/usr/bin/dealerbot"], "-rwxr-xr-x", "mode of the binary")
        stray = [f for f in files if not re.match(r"^/(usr|etc)(/|$)", f)
                 or f.startswith("/usr/local") or "/include/" in f or "test" in f]
        check(not stray, "unexpected files: %r" % stray)

        def field(name):
            return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True,
                                  text=True, check=True).stdout.strip()
        eq(field("Package"), "dealerbot", "Package")
        eq(field("Version"), project_version(), "Version")
        eq(field("Architecture"), arch, "Architecture")
        depends = [d.strip() for d in field("Depends").split(",")]
        names = {d.split()[0] for d in depends}
        for lib in ("adduser", "libc6", "libwebsockets17", "libjansson4", "libsqlite3-0",
                    "libexpat1", "libconfig9", "libssl3"):
            check(lib in names, "Depends lacks %s: %s" % (lib, depends))
        # every library the packaged binary needs comes from a package in Depends
        tree = os.path.join(out, "tree")
        subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
        dyn = subprocess.run(["objdump", "-p", os.path.join(tree, "usr/bin/dealerbot")],
                             capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"^\s*NEEDED\s+(\S+)", dyn, re.M)
        check(needed, "no NEEDED entries: " + dyn[:300])
        for lib in needed:
            owners = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True,
                                    text=True).stdout
            pkgs = {l.split(":")[0] for l in owners.splitlines()
                    if l.rstrip().endswith("/" + lib)}
            check(pkgs, "no package owns %s" % lib)
            check(pkgs & names, "%s (from %s) is not covered by Depends: %s"
                  % (lib, sorted(pkgs), depends))

        ctrl = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True,
                              check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(ctrl)) as tf:
            members = {m.name.lstrip("./"): m for m in tf.getmembers()}
            eq(tf.extractfile(members["conffiles"]).read().decode().split(),
               ["/etc/dealerbot/dealerbot.conf"], "conffiles")
            for script in ("postinst", "prerm", "postrm"):
                check(script in members, "no %s" % script)
                check(members[script].mode & 0o111, "%s is not executable" % script)
                body = tf.extractfile(members[script]).read()
                r = subprocess.run(["sh", "-n"], input=body, capture_output=True)
                eq(r.returncode, 0, "%s: sh -n: %r" % (script, r.stderr))
                if script == "postinst":
                    text = body.decode()
                    check("adduser --system" in text, "postinst creates no user")
                    check("deb-systemd-helper enable" in text, "postinst does not enable")
                    check(not re.search(r"invoke\S* start|systemctl start", text),
                          "postinst must not start the service")
    finally:
        shutil.rmtree(out, ignore_errors=True)


# cpack builds, installs, runs dpkg-shlibdeps and compresses: over a minute on a loaded machine
dbot.FILE_TIMEOUT = max(dbot.FILE_TIMEOUT, 280)
dbot.main(globals())
