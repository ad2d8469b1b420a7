// Package authz is the tenant policy of a node's dockerd: a Docker
// authorization plugin (served on a Unix socket inside the node, dockerd
// started with --authorization-plugin=vela) that refuses what would weaken
// the node's walls — privileged containers, capabilities beyond Docker's
// defaults, the node's PID/IPC/network/UTS/user/cgroup namespaces, devices,
// unconfined security profiles, bind mounts outside the node's Docker data
// dir, and plugin installs — with a message the docker client prints. It
// decides from the request alone and keeps no state.
package authz
