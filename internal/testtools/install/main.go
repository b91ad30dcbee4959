// Command install builds the test tools (testtools.All) into dagsec's
// tools folder ($DAGSEC_TOOLS_DIR, else the user cache's dagsec/tools); a
// tool already built at its pinned version is left as it is. Exit 1 when
// a build fails.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/dagsec/dagsec/internal/testtools"
	"github.com/dagsec/dagsec/pipeline/host"
)

func main() {
	inst := &host.Installer{Dir: host.DefaultToolsDir(), Progress: os.Stderr}
	for _, t := range testtools.All {
		p, err := inst.Ensure(context.Background(), t)
		if err != nil {
			fmt.Fprintf(os.Stderr, "install: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("%s %s: %s\n", t.Name, t.Version, p)
	}
}
