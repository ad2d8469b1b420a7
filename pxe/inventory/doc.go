// Package inventory is the pxe.Inventory backed by an install config: it
// answers which listed machine a MAC or UUID is and what it boots, records
// unknown machines as discovered, and remembers which machines are installed
// on disk. Both records persist as JSON in a state directory, which
// `vela machines ls` reads. It never decides boot policy beyond that.
package inventory
