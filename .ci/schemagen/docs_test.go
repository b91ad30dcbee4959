package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dagger/dagger/cmd/codegen/introspection"
)

func TestCommandWords(t *testing.T) {
	cases := map[string][]string{
		`scan --source=. check`:                              {"scan", "--source=.", "check"},
		`ci --branch="$CI_COMMIT_BRANCH" x`:                  {"ci", "--branch=$CI_COMMIT_BRANCH", "x"},
		`ci --branch=${{ github.ref_name }} directory`:       {"ci", "--branch=${{ github.ref_name }}", "directory"},
		`a --cmd=sh,-c,'kubectl apply -f k8s/ >&2' b`:        {"a", "--cmd=sh,-c,kubectl apply -f k8s/ >&2", "b"},
		"  spaced\tout  ":                                    {"spaced", "out"},
		"scan --source=. check   # fails when a gate blocks": {"scan", "--source=.", "check"},
		"ci` runs them":                                      {"ci"},
		"x --a='b # c' | jq .":                               {"x", "--a=b # c"},
		"x && y":                                             {"x"},
		"x --url=http://h/#frag":                             {"x", "--url=http://h/#frag"},
		"":                                                   nil,
	}
	for in, want := range cases {
		if got := commandWords(in); !slices.Equal(got, want) {
			t.Errorf("commandWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindDocCommands(t *testing.T) {
	md := "One `dagger call` runs it.\n" +
		"```sh\ndagger call ci --source=. \\\n  --branch=main check\n" +
		"dagger -m github.com/dagsec/dagsec@v1 call scan summary\n" +
		"dagger -m github.com/other/mod call thing\n" +
		"dagger check\n```\n"
	got, err := FindDocCommands("README.md", []byte(md), "dagsec")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, c := range got {
		s = append(s, c.String()+"@"+string(rune('0'+c.Line)))
	}
	want := []string{"dagger call ci --source=. --branch=main check@3", "dagger call scan summary@5", "dagger check@7"}
	if !slices.Equal(s, want) {
		t.Errorf("markdown: got %q, want %q", s, want)
	}

	yml := `jobs:
  x:
    steps:
      # run: dagger call scan --source=. check
      - uses: dagger/dagger-for-github@v8
        with:
          verb: call
          args: >-
            ci --source=.
            directory export --path=out
      - run: |
          dagger call sast --source=. summary
`
	got, err = FindDocCommands("wf.yml", []byte(yml), "dagsec")
	if err != nil {
		t.Fatal(err)
	}
	s = nil
	for _, c := range got {
		s = append(s, c.String())
	}
	slices.Sort(s)
	want = []string{"dagger call ci --source=. directory export --path=out", "dagger call sast --source=. summary", "dagger call scan --source=. check"}
	if !slices.Equal(s, want) {
		t.Errorf("yaml: got %q, want %q", s, want)
	}
}

// coreWithDirectory is miniCore plus Directory.export(path, wipe) and
// Directory.entries (a list, which ends a chain).
func coreWithDirectory(t *testing.T) *introspection.Schema {
	t.Helper()
	var resp introspection.Response
	if err := json.Unmarshal([]byte(miniCore), &resp); err != nil {
		t.Fatal(err)
	}
	dir := resp.Schema.Types.Get("Directory")
	nn := func(name string) *introspection.TypeRef {
		return &introspection.TypeRef{Kind: introspection.TypeKindNonNull, OfType: &introspection.TypeRef{Kind: introspection.TypeKindScalar, Name: name}}
	}
	dir.Fields = append(dir.Fields,
		&introspection.Field{Name: "export", TypeRef: nn("String"), Args: introspection.InputValues{
			{Name: "path", TypeRef: nn("String")}, {Name: "wipe", TypeRef: &introspection.TypeRef{Kind: introspection.TypeKindScalar, Name: "Boolean"}}}},
		&introspection.Field{Name: "entries", TypeRef: &introspection.TypeRef{Kind: introspection.TypeKindNonNull,
			OfType: &introspection.TypeRef{Kind: introspection.TypeKindList, OfType: nn("String")}}},
	)
	return resp.Schema
}

// Commands are walked as the CLI parses them: constructor flags, a
// function and its flags, then functions of what it returns, module or core.
func TestCheckDocCommand(t *testing.T) {
	m, err := newCLIModel(testModule(), "tools", "", coreWithDirectory(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args string
		want string // "" for valid
	}{
		{"run --src=. out", ""},
		{"--image=alpine run --src . --keys env:A,env:B --n=3 dir export --path=x --wipe", ""},
		{"run dir export --wipe --path x", ""},
		{"run -o out.txt out", ""},
		{"--imag=alpine run", "the constructor (flags before the function) has no flag --imag"},
		{"ran --src=.", `Tools has no function "ran"`},
		{"run --source=.", "Tools.run has no flag --source"},
		{"run out extra", `Result.out returns a value: nothing can follow it ("extra")`},
		{"run dir exprt", `Directory has no function "exprt"`},
		{"run dir entries export", `Directory.entries returns a value`},
	}
	for _, tc := range cases {
		probs := m.CheckDocCommand(DocCommand{Args: strings.Fields(tc.args)})
		switch {
		case tc.want == "" && len(probs) > 0:
			t.Errorf("%q: unexpected %q", tc.args, probs)
		case tc.want != "" && !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tc.want) }):
			t.Errorf("%q: got %q, want one containing %q", tc.args, probs, tc.want)
		}
	}
	if probs := m.CheckDocCommand(DocCommand{Check: true}); len(probs) != 1 {
		t.Errorf("dagger check with no +check function: got %q", probs)
	}
}

// The CLI's rules on the test module, and on the kinds of argument it
// cannot set.
func TestCLIProblems(t *testing.T) {
	mod := testModule()
	tools := mod.Objects[0]
	str := (&TypeDef{}).withKind("STRING_KIND")
	result := (&TypeDef{}).withObject("Result", "", nil, nil)
	add := func(fn *Function) {
		var err error
		if tools, err = tools.withFunction(fn); err != nil {
			t.Fatal(err)
		}
	}
	add(newFunction("Pipeline", str))
	add(newFunction("Git", str))
	add(newFunction("Gate", str).withArg(&FunctionArg{Name: "results", TypeDef: (&TypeDef{}).withListOf(result)}))
	add(newFunction("Nest", str).withArg(&FunctionArg{Name: "grid", TypeDef: (&TypeDef{}).withListOf((&TypeDef{}).withListOf(str))}).
		withArg(&FunctionArg{Name: "output", TypeDef: str.withOptional(true)}))
	add(newFunction("Repos", str).withArg(&FunctionArg{Name: "repos", TypeDef: (&TypeDef{}).withListOf((&TypeDef{}).withObject("GitRepository", "", nil, nil))}))
	mod.Objects[0] = tools
	var resp introspection.Response
	if err := json.Unmarshal([]byte(miniCore), &resp); err != nil {
		t.Fatal(err)
	}
	resp.Schema.Types.Get("Query").Fields = append(resp.Schema.Types.Get("Query").Fields, &introspection.Field{Name: "git"})
	m, err := newCLIModel(mod, "tools", ".dagger", resp.Schema)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Problems() {
		got = append(got, p.String())
	}
	for _, want := range []string{
		`function "pipeline" is served as Query.pipeline, which the v0.21.8 CLI hides`,
		`function "git" collides with the core API's Query.git`,
		"Tools.gate argument results ([Result!]!): the CLI cannot set lists of the module's own Result objects from a flag; required",
		"Tools.nest argument grid ([[string!]!]!): the CLI cannot set a list of lists",
		"Tools.nest argument output: --output is `dagger call`'s own flag",
		"Tools.repos argument repos ([GitRepository!]!): the CLI has no flag for lists of GitRepository objects",
	} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem says %q; got:\n%s", want, strings.Join(got, "\n"))
		}
	}
	// run's arguments (a Directory, a list of Secrets, an int) are settable.
	for _, p := range got {
		if strings.Contains(p, "Tools.run") {
			t.Errorf("unexpected: %s", p)
		}
	}
}
