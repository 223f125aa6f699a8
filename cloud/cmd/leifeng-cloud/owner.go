package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"leifeng/cloud/fleet"
)

// defaultOwner is the owner mosquitto-config gives its files: run as root
// (installing a broker), the mosquitto user, because Mosquitto started as
// root drops to that user before it reads them; otherwise nobody in
// particular (the files stay the runner's, who then runs Mosquitto).
func defaultOwner() string {
	if os.Geteuid() != 0 {
		return ""
	}
	if _, err := user.Lookup("mosquitto"); err != nil {
		return ""
	}
	return "mosquitto"
}

// mosquittoOwner resolves --owner.
func mosquittoOwner(name string) (*fleet.Owner, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--owner %s: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("--owner %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("--owner %s: gid %q: %w", name, u.Gid, err)
	}
	return &fleet.Owner{UID: uid, GID: gid}, nil
}
