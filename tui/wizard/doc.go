// Package wizard is the interactive installer's question flow: welcome
// (preflight results), target and boot network, OS image, machines (a live
// table of machines seen PXE-booting, plus manual add by MAC, with roles),
// SSH keys, the first admin and tenant, and a review that shows the YAML and
// `vela config validate`'s verdict and saves it. The same questions run full
// screen (Bubble Tea + huh) or line by line (accessible mode, serial consoles,
// TERM=dumb). The wizard collects answers into an installer/config.Config and
// asks installer/config's validator about every field: it has no rules of
// its own, starts nothing and installs nothing; the caller runs the install
// with the saved file.
package wizard
