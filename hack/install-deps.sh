#!/usr/bin/env bash
# install-deps.sh: install the OVN / Open vSwitch programs that the testbed
# package (end-to-end tests) runs, from the distribution's packages.
#
# Idempotent and fast: when every program is already there it prints nothing
# and exits 0 without touching apt. Otherwise it makes sure no service gets
# started by the packages' postinst scripts (/usr/sbin/policy-rc.d exiting
# 101, created if absent and left in place so later apt runs don't start
# them either), then runs apt-get update and apt-get install.
#
# Needs root (uses sudo when not root and sudo exists). Debian/Ubuntu only.
set -euo pipefail

PACKAGES=(openvswitch-switch openvswitch-common openvswitch-vtep ovn-central
          ovn-host ovn-common ovn-controller-vtep iputils-ping
          netconfd openssh-server python3-ncclient)

# Programs the testbed looks for (testbed/bin.go), plus ping.
PROGRAMS=(ovsdb-server ovsdb-tool ovsdb-client ovs-vswitchd ovs-vsctl ovs-ofctl
          ovs-appctl vtep-ctl ovn-northd ovn-nbctl ovn-sbctl ovn-controller-vtep ping
          netconfd netconf-subsystem sshd)
FILES=(/usr/share/openvswitch/scripts/ovs-vtep
       /usr/share/openvswitch/vtep.ovsschema
       /usr/share/openvswitch/vswitch.ovsschema
       /usr/share/ovn/ovn-nb.ovsschema
       /usr/share/ovn/ovn-sb.ovsschema)

have_program() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local d
    for d in /usr/sbin /usr/bin /sbin /bin; do
        [ -x "$d/$1" ] && return 0
    done
    return 1
}

missing=()
for p in "${PROGRAMS[@]}"; do
    have_program "$p" || missing+=("$p")
done
for f in "${FILES[@]}"; do
    [ -e "$f" ] || missing+=("$f")
done
# ovs-vtep needs the ovs python module under the system python.
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 -c 'import ovs' >/dev/null 2>&1 || missing+=("python3 module ovs")
    /usr/bin/python3 -c 'import ncclient' >/dev/null 2>&1 || missing+=("python3 module ncclient")
else
    missing+=(/usr/bin/python3)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: missing: ${missing[*]}" >&2

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: need root (or sudo) to install: ${PACKAGES[*]}" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get; install these packages by hand: ${PACKAGES[*]}" >&2
    exit 1
fi

# Keep postinst scripts from starting ovsdb-server, ovs-vswitchd, ovn-northd...
if [ ! -e /usr/sbin/policy-rc.d ]; then
    echo "install-deps: creating /usr/sbin/policy-rc.d (exit 101: no service starts)" >&2
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 0755 /usr/sbin/policy-rc.d
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
echo "install-deps: installed ${PACKAGES[*]}" >&2
