package ignition

import "fmt"

// The node image: the packed root filesystem every node on a hypervisor
// shares read-only (images/nodeimage.Packed).
const (
	// NodeImageURLPath is the boot server path of the packed node image.
	NodeImageURLPath = "/images/node/rootfs"
	// NodeImageFile is its name in a member's image store (BootImagesDir),
	// where a member's boot server finds it to serve day-2 hypervisors.
	NodeImageFile = "node.squashfs"
	// NodeImagePath is where a hypervisor, and a member serving day-2 boot,
	// keeps it; NodeImageMount is where a hypervisor mounts it read-only for
	// the agent (vela agent --image).
	NodeImagePath  = BootImagesDir + "/" + NodeImageFile
	NodeImageMount = BootImagesDir + "/node/rootfs"
)

// nodeImageData decides whether a machine fetches the node image, and
// returns its boot server URL and Ignition hash ("sha512-HEX"), or "" "".
// Hypervisors fetch it (and mount it: the template adds the mount unit for
// hypervisors only). A member that serves day-2 boot fetches it too, when
// the install has hypervisors, so that hypervisors admitted on day 2 get it
// from the member that boots them. Without in.NodeImageSHA512 nobody
// fetches it.
func nodeImageData(in Input, d data, boot string) (url, hash string, err error) {
	if in.NodeImageSHA512 == "" {
		return "", "", nil
	}
	serves := d.Member && d.Day2.On && len(in.Config.Hypervisors()) > 0
	if !d.Hypervisor && !serves {
		return "", "", nil
	}
	if !hexSHA512RE.MatchString(in.NodeImageSHA512) {
		return "", "", fmt.Errorf("machine %q: node image hash %q is not a hex sha512; pass the sha512sum of the packed node image the boot server serves at %s",
			in.Machine, in.NodeImageSHA512, NodeImageURLPath)
	}
	return boot + NodeImageURLPath, "sha512-" + in.NodeImageSHA512, nil
}
