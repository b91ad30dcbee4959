package pipeline

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dagsec/dagsec/policies"
)

// Without an engine or a Dockerfile the delivery stages are skipped, which
// holds back everything after them; any other engine failure is judged as a
// tool error (error under on_tool_error: block).
func TestEngineFailure(t *testing.T) {
	p, err := policies.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	sp := p.Stage("build")
	for _, tc := range []struct {
		err  error
		want policies.Status
	}{
		{fmt.Errorf("building an image %w", ErrNeedsEngine), policies.StatusSkipped},
		{fmt.Errorf("%w: the source has no Dockerfile", ErrNothingToBuild), policies.StatusSkipped},
		{errors.New("building Dockerfile: exit code 1"), policies.StatusError},
	} {
		res := engineFailure("build", sp, tc.err)
		if res.Status != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, res.Status, tc.want)
		}
		if res.Status == policies.StatusSkipped && !res.holdsBack(false) {
			t.Errorf("%v: a skipped build must hold back what needs it", tc.err)
		}
	}
}
