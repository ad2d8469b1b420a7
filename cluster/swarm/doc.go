// Package swarm forms and repairs the Docker Swarm of one tenant cluster. It
// talks to each node's Docker Engine API over mutual TLS through the small
// Engine seam (a real HTTP client here, a hand-written fake in tests) and
// reconciles: the first node initialises the swarm, the others join as
// managers (up to 3, or 5 from 7 nodes) or workers, a node of another swarm
// is refused, and running Form again changes nothing that is already right.
//
// It does not create nodes (the agent does) nor decide when to add them
// (the scheduler and autoscaler do).
package swarm
