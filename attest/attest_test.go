package attest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func envelopeOf(t *testing.T, statement any) []byte {
	t.Helper()
	payload, err := json.Marshal(statement)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(payload)})
	return env
}

func TestProvenanceReadsBack(t *testing.T) {
	b := Build{Source: "/src", Commit: strings.Repeat("a", 40), Branch: "main", Dockerfile: "Dockerfile", DockerfileSHA256: strings.Repeat("b", 64),
		BuildArgs: []string{"VERSION=1.2"}, Image: "Dockerfile", Dagsec: "1.0", Runner: "host", Policy: "default",
		Verdict: "warned", Stages: map[string]string{"build": "passed", "image": "warned"},
		Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Finished: time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)}
	pred, err := Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"buildType": "` + BuildType + `"`, `"gitCommit": "` + b.Commit + `"`, `"VERSION=1.2"`, `"sha256": "` + b.DockerfileSHA256 + `"`, `"id": "` + BuilderID + `"`} {
		if !strings.Contains(string(pred), want) {
			t.Errorf("provenance lacks %s:\n%s", want, pred)
		}
	}
	st, err := ReadStatement(envelopeOf(t, map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "predicateType": PredicateProvenance,
		"subject": []any{map[string]any{"name": "image.tar", "digest": map[string]string{"sha256": "c"}}}, "predicate": json.RawMessage(pred)}))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ProvenanceVerdict(st)
	if err != nil || v.Verdict != "warned" || v.Stages["image"] != "warned" || v.Version != "1.0" || v.Runner != "host" {
		t.Fatalf("verdict %+v, %v", v, err)
	}
}

func TestReadStatementRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []byte
		want string
	}{
		{"not JSON", []byte("nope"), "not a DSSE envelope"},
		{"another payload", []byte(`{"payloadType":"text/plain","payload":""}`), "is not an in-toto statement"},
		{"bad base64", []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"***"}`), "payload"},
	} {
		if _, err := ReadStatement(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	st, err := ReadStatement(envelopeOf(t, map[string]any{"predicateType": PredicateCycloneDX, "predicate": map[string]any{}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ProvenanceVerdict(st); err == nil || !strings.Contains(err.Error(), "not SLSA provenance v1") {
		t.Errorf("an SBOM read as provenance: %v", err)
	}
	st, _ = ReadStatement(envelopeOf(t, map[string]any{"predicateType": PredicateProvenance, "predicate": map[string]any{"buildDefinition": map[string]any{"buildType": "other"}}}))
	if _, err := ProvenanceVerdict(st); err == nil || !strings.Contains(err.Error(), "not dagsec's") {
		t.Errorf("someone else's provenance: %v", err)
	}
}
