#!/bin/sh
# vela-node-init: PID 1 of a Vela node (written by the hypervisor agent).
# 1. a fresh tmpfs on /run; 2. wait until the agent has handed the node's
# cgroups over (it writes /run/vela/cgroup-ready); 3. enter a cgroup
# namespace and remount the cgroup hierarchies so that nested containers are
# created below the node's own cgroups and stay under its limits; 4. run
# the tenant policy plugin, then dockerd with TLS and that plugin, under tini
# (which reaps orphans). No plugin, no dockerd: the policy fails closed.
set -e
if [ -z "$VELA_CGNS" ]; then
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
  mkdir -p /run/vela
  exec >/run/vela/init.log 2>&1
  while [ ! -e /run/vela/cgroup-ready ]; do sleep 0.02; done
  export VELA_CGNS=1
  exec unshare --cgroup "$0" "$@"
fi
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: move ourselves to a leaf so the node's root cgroup can
  # delegate controllers to dockerd's children.
  # libvirt mounted the host's view of cgroup2 here: replace it by a mount
  # of this namespace, whose root is the node's own cgroup (mounting over
  # it fails "already mounted" on a pure v2 host such as vela-os).
  umount /sys/fs/cgroup 2>/dev/null || umount -l /sys/fs/cgroup 2>/dev/null || true
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup 2>/dev/null || mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mkdir -p /sys/fs/cgroup/init
  echo $$ >/sys/fs/cgroup/init/cgroup.procs
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  done
else
  mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup /sys/fs/cgroup
  for c in $(cat /run/vela/cgroup-ready); do
    mkdir -p "/sys/fs/cgroup/$c"
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
fi
. /etc/vela/node.env
rm -f /run/docker/plugins/vela.sock
/opt/vela/vela agent authz --socket /run/docker/plugins/vela.sock >/run/vela/authz.log 2>&1 &
i=0
while [ ! -S /run/docker/plugins/vela.sock ]; do
  i=$((i+1)); [ $i -lt 500 ] || { echo "authz plugin did not start"; exit 1; }
  sleep 0.02
done
exec /usr/bin/tini -s -- /usr/sbin/dockerd --authorization-plugin=vela \
  --tlsverify --tlscacert=/etc/vela/docker/ca.pem \
  --tlscert=/etc/vela/docker/cert.pem --tlskey=/etc/vela/docker/key.pem \
  -H "tcp://0.0.0.0:${DOCKER_PORT}" -H unix:///run/docker.sock \
  --data-root /var/lib/docker $DOCKERD_EXTRA_ARGS
