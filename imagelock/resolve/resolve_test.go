package resolve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/imagelock"
	"github.com/dagsec/dagsec/internal/testenv"
)

func TestLockAndCheck(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	images := map[string]string{
		"trivy":          reg + "/aquasec/trivy:0.74.0",
		imagelock.Helper: reg + "/library/busybox:1.37.0",
	}
	want := map[string]string{}
	for n, img := range images {
		want[n] = testenv.PushRandomImage(t, img)
	}
	lock, err := Lock(ctx, images)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lock.Entries {
		if e.Digest != want[e.Name] {
			t.Errorf("%s locked at %s, pushed %s", e.Name, e.Digest, want[e.Name])
		}
	}
	for _, r := range Check(ctx, lock, nil) {
		if p := r.Problem(); p != "" {
			t.Errorf("fresh lock: %s", p)
		}
	}

	// The tag moves: the check names the image and both digests.
	moved := testenv.PushRandomImage(t, images["trivy"])
	res := Check(ctx, lock, []string{"trivy"})
	if len(res) != 1 || !res[0].Moved() || res[0].Unreachable {
		t.Fatalf("after the tag moved: %+v", res)
	}
	p := res[0].Problem()
	for _, w := range []string{images["trivy"], "the tag moved", want["trivy"], moved} {
		if !strings.Contains(p, w) {
			t.Errorf("problem %q does not name %q", p, w)
		}
	}
}

func TestResolveFailures(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	// A port nothing listens on: no answer at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name, image string
		unreachable bool
		want        string
	}{
		{"no such tag", reg + "/nothing/here:1", false, reg + "/nothing/here:1"},
		{"registry down", closed + "/aquasec/trivy:0.74.0", true, closed},
		{"a digest, not a tag", reg + "/a/b@sha256:" + strings.Repeat("a", 64), false, "already names a digest"},
		{"not a reference", "UPPER/Case:x", false, "not an image reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Digest(ctx, tc.image)
			if err == nil {
				t.Fatal("Digest succeeded")
			}
			if got := Unreachable(err); got != tc.unreachable {
				t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.unreachable)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
	if _, err := Lock(ctx, map[string]string{"trivy": reg + "/nothing/here:1"}); err == nil || !strings.Contains(err.Error(), "trivy: ") {
		t.Errorf("Lock of a missing tag: %v", err)
	}
}

func TestCheckTags(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	// A registry that answers every request 401, as a private one does
	// to an anonymous lookup.
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	}))
	t.Cleanup(private.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	trivy := reg + "/aquasec/trivy:0.74.0"
	digest := testenv.PushRandomImage(t, trivy)
	lockOf := func(image, digest string) *imagelock.Lock {
		l := imagelock.New(map[string]string{"trivy": image, "gitleaks": reg + "/gitleaks/gitleaks:v8"}, map[string]string{"trivy": digest, "gitleaks": digest})
		l.File = "images.lock"
		return l
	}
	privateImage := strings.TrimPrefix(private.URL, "http://") + "/aquasec/trivy:0.74.0"
	for _, tc := range []struct {
		name      string
		lock      *imagelock.Lock
		refusedOK bool
		checked   int
		unchecked string // what the one unchecked image's note says
		err       string // what the error says
	}{
		{"tag still has its digest", lockOf(trivy, digest), false, 1, "", ""},
		{"tag moved", lockOf(trivy, "sha256:"+strings.Repeat("0", 64)), false, 0, "", trivy + " (trivy): the tag moved"},
		{"registry down", lockOf(down+"/aquasec/trivy:0.74.0", digest), false, 0, "registry unreachable", ""},
		{"registry refuses, host", lockOf(privateImage, digest), false, 0, "", "UNAUTHORIZED"},
		{"registry refuses, module", lockOf(privateImage, digest), true, 0, "refused an anonymous lookup", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Only trivy is asked about: gitleaks' tag does not exist and
			// would fail.
			tags, err := CheckTags(ctx, tc.lock, []string{"trivy"}, tc.refusedOK)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "images.lock: ") {
					t.Fatalf("error %v, want it to say %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tags.Checked) != tc.checked {
				t.Errorf("checked %v, want %d", tags.Checked, tc.checked)
			}
			if tc.unchecked != "" && (len(tags.Unchecked) != 1 || !strings.Contains(tags.Unchecked[0], tc.unchecked)) {
				t.Errorf("unchecked %v, want one saying %q", tags.Unchecked, tc.unchecked)
			}
		})
	}
}
