// Package netnstest makes throwaway network namespaces, bridges, veths and
// taps for the pxe integration tests, and removes them with t.Cleanup. It
// only ever touches what it created. Tests that need it must run as root;
// without root (or the ip tool) they skip unless CI is set, then they fail.
package netnstest
