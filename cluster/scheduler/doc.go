// Package scheduler places a cluster's new nodes on hypervisors. Place is a
// pure function of the hypervisors' capacity and what they already host: it
// spreads a cluster's nodes across hypervisors (so losing one hypervisor
// does not lose a swarm's quorum), prefers the hypervisor with the most free
// memory, and refuses up front — with the figures — when the request cannot
// be placed whole. It never places part of a request.
package scheduler
