package policies

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is located in
// the file, and that whatever parses marshals and parses back unchanged.
func FuzzParse(f *testing.F) {
	for _, n := range PresetNames() {
		data, err := presetFS.ReadFile("presets/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	f.Add([]byte("stages:\n  secrets:\n    blok_on: info\n"), uint8(1))
	f.Add([]byte("version: 1\n---\nversion: 1\n"), uint8(2))
	f.Add([]byte("stages:\n  sca: &a {warn_only: true}\n  iac: *a\n"), uint8(3))
	f.Add([]byte("stages: {secrets: {tools: [gitleaks], timeout: 1h}}\n"), uint8(0))
	f.Add([]byte("stages:\n  sast:\n    rulesets: [p/jwt, rules/x.yml]\n  sca:\n    unreachable_severity: medium\n    db_refresh: 12h\n"), uint8(0))
	f.Add([]byte("stages:\n  licenses:\n    allow: [MIT, LicenseRef-x]\n    deny: []\n    unknown_license: block\n"), uint8(1))
	f.Add([]byte("stages:\n  licenses:\n    allow: [GPL-3.0-only]\n"), uint8(0))
	f.Add([]byte("stages:\n  sca:\n    rulesets: [p/jwt]\n  licenses:\n    denny: [MIT]\n"), uint8(2))
	presets := append([]string{""}, PresetNames()...)
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		preset := presets[int(pick)%len(presets)]
		p, err := Parse(data, "fuzz.yaml", preset)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("parsed policy does not marshal: %v", err)
		}
		back, err := Parse(out, "fuzz.yaml", "")
		if err != nil {
			t.Fatalf("marshalled policy does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip changed the policy\n%s", out)
		}
	})
}
