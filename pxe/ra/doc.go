// Package ra sends minimal IPv6 router advertisements on the boot network:
// no prefix, no default route, no DHCPv6 (M and O flags clear). They carry
// nothing a host would use; they exist because iPXE waits about 13 s for
// IPv6 autoconfiguration to finish when no router ever answers, and one such
// advertisement ends that wait at once. It answers router solicitations and
// repeats unsolicited every Interval. It configures no address and no route.
package ra
