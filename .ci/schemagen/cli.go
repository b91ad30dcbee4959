package main

// What the v0.21.8 dagger CLI can call of a module, from its typedefs. Each
// rule names the CLI code it follows (github.com/dagger/dagger v0.21.8):
//   - hidden root fields: dagql/dagui/opts.go ShouldSkipFunction. In v0.21
//     the main object's functions are served on the root Query, and the CLI
//     offers no Query field of that list as a command.
//   - core Query fields: a module function of the same name cannot be
//     served on Query beside the core one.
//   - flags: cmd/dagger/flags.go modFunctionArg.AddFlag and
//     GetCustomFlagValue(Slice); a required argument without a flag makes
//     the CLI skip the whole function (module_inspect.go
//     HasUnsupportedFlags), an optional one is silently left out.
//   - flag names: cliName (kebab case); `dagger call` adds --output/-o and
//     --json/-j to every function command (functions.go), and cobra --help.

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/dagger/dagger/cmd/codegen/introspection"
	"github.com/iancoleman/strcase"
)

// hiddenQueryFields is ShouldSkipFunction's list for "Query".
var hiddenQueryFields = []string{
	"_builtinContainer", "generatedCode", "currentFunctionCall", "currentModule", "typeDef",
	"sourceMap", "function", "cacheVolume", "setSecret", "with", "pipeline",
}

// flagObjects are the object, input and scalar types GetCustomFlagValue
// turns a flag into; flagListObjects those GetCustomFlagValueSlice does.
var (
	flagObjects = []string{"Container", "Directory", "File", "Secret", "Service", "PortForward",
		"CacheVolume", "ModuleSource", "Module", "Platform", "BuildArg", "Socket", "GitRepository", "GitRef"}
	flagListObjects = []string{"Container", "Directory", "File", "Secret", "Service", "PortForward",
		"CacheVolume", "ModuleSource", "Module", "Platform", "BuildArg", "Socket"}
	// callFlags are `dagger call`'s own flags on every function command.
	callFlags = []string{"output", "o", "json", "j", "help", "h"}
)

// cliName is the CLI's name for a function or argument.
func cliName(name string) string { return strcase.ToKebab(name) }

// Problem is one thing about a module that breaks `dagger call`.
type Problem struct {
	Where string // source position, or a file for context problems
	What  string
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.What
	}
	return p.Where + ": " + p.What
}

// CLIModel is a module as the CLI sees it: the main object (its functions
// served on Query), its constructor flags and every object's functions.
type CLIModel struct {
	Name    string
	Main    *ObjectTypeDef
	Objects map[string]*ObjectTypeDef // by original name
	core    *introspection.Schema
	// srcDir prefixes source positions (the SDK's are relative to it).
	srcDir string
}

func newCLIModel(mod *Module, name, srcDir string, core *introspection.Schema) (*CLIModel, error) {
	m := &CLIModel{Name: name, Objects: map[string]*ObjectTypeDef{}, core: core, srcDir: srcDir}
	for _, def := range mod.Objects {
		m.Objects[def.AsObject.OriginalName] = def.AsObject
		if strcase.ToCamel(def.AsObject.OriginalName) == strcase.ToCamel(name) {
			m.Main = def.AsObject
		}
	}
	if m.Main == nil {
		return nil, fmt.Errorf("the module defines no main object %s", strcase.ToCamel(name))
	}
	return m, nil
}

func (m *CLIModel) where(sm *SourceMap) string {
	if sm == nil || sm.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", path.Join(m.srcDir, sm.Filename), sm.Line)
}

// Problems applies every rule to the module.
func (m *CLIModel) Problems() []Problem {
	var out []Problem
	coreFields := map[string]bool{}
	if q := m.core.Types.Get(m.core.QueryType.Name); q != nil {
		for _, f := range q.Fields {
			coreFields[f.Name] = true
		}
	}
	root := func(name, kind string, sm *SourceMap) {
		switch {
		case slices.Contains(hiddenQueryFields, name):
			out = append(out, Problem{m.where(sm), fmt.Sprintf(
				"%s %q is served as Query.%s, which the v0.21.8 CLI hides (dagql/dagui/opts.go): `dagger call %s` would answer \"unknown command\"; rename it",
				kind, name, name, cliName(name))})
		case coreFields[name]:
			out = append(out, Problem{m.where(sm), fmt.Sprintf(
				"%s %q collides with the core API's Query.%s; rename it", kind, name, name)})
		}
	}
	for _, fn := range m.Main.Functions {
		root(fn.Name, "function", fn.SourceMap)
	}
	for _, f := range m.Main.Fields {
		root(f.Name, "field", f.SourceMap)
	}
	for _, obj := range m.objects() {
		fns := obj.Functions
		if obj.Constructor != nil {
			c := *obj.Constructor
			c.Name = "constructor of " + obj.Name
			fns = append([]*Function{&c}, fns...)
		}
		for _, fn := range fns {
			out = append(out, m.argProblems(obj, fn)...)
		}
	}
	return out
}

// objects lists the module's objects, main first, then by name.
func (m *CLIModel) objects() []*ObjectTypeDef {
	out := []*ObjectTypeDef{m.Main}
	for _, k := range slices.Sorted(maps.Keys(m.Objects)) {
		if m.Objects[k] != m.Main {
			out = append(out, m.Objects[k])
		}
	}
	return out
}

func (m *CLIModel) argProblems(obj *ObjectTypeDef, fn *Function) []Problem {
	var out []Problem
	seen := map[string]string{}
	for _, a := range fn.Args {
		flag := cliName(a.Name)
		at := m.where(a.SourceMap)
		if at == "" {
			at = m.where(fn.SourceMap)
		}
		if why := m.unsettable(a.TypeDef); why != "" {
			effect := "optional, so `dagger call` silently leaves the flag out"
			if !a.TypeDef.Optional && a.DefaultValue == "" {
				effect = "required, so `dagger call` skips the whole function (\"unsupported types\")"
			}
			out = append(out, Problem{at, fmt.Sprintf("%s.%s argument %s (%s): %s; %s",
				obj.Name, fn.Name, a.Name, typeString(a.TypeDef), why, effect)})
		}
		if slices.Contains(callFlags, flag) && !strings.HasPrefix(fn.Name, "constructor of") {
			out = append(out, Problem{at, fmt.Sprintf("%s.%s argument %s: --%s is `dagger call`'s own flag; rename it",
				obj.Name, fn.Name, a.Name, flag)})
		}
		if prev, dup := seen[flag]; dup {
			out = append(out, Problem{at, fmt.Sprintf("%s.%s arguments %s and %s are both --%s (\"flag already exists\")",
				obj.Name, fn.Name, prev, a.Name, flag)})
		}
		seen[flag] = a.Name
	}
	return out
}

// unsettable says why no flag can set a value of type t ("" when one can).
func (m *CLIModel) unsettable(t *TypeDef) string {
	switch t.Kind {
	case KindString, KindInteger, KindFloat, KindBoolean:
		return ""
	case KindObject:
		return m.unsettableObject(t.AsObject, flagObjects, "")
	case KindList:
		switch e := t.AsList; e.Kind {
		case KindObject:
			return m.unsettableObject(e.AsObject, flagListObjects, "lists of ")
		case KindList:
			return "the CLI cannot set a list of lists"
		default:
			return m.unsettable(e)
		}
	}
	return fmt.Sprintf("the CLI has no flag for %s", t.Kind)
}

// unsettableObject is unsettable for objects (or lists of them, with
// what "lists of "): never the module's own, only the core ones known.
func (m *CLIModel) unsettableObject(o *ObjectTypeDef, known []string, what string) string {
	if _, own := m.Objects[o.OriginalName]; own {
		return fmt.Sprintf("the CLI cannot set %sthe module's own %s objects from a flag", what, o.Name)
	}
	if !slices.Contains(known, o.Name) {
		return fmt.Sprintf("the CLI has no flag for %s%s objects", what, o.Name)
	}
	return ""
}

func typeString(t *TypeDef) string {
	var s string
	switch t.Kind {
	case KindObject:
		s = t.AsObject.Name
	case KindList:
		s = "[" + typeString(t.AsList) + "]"
	default:
		s = strings.ToLower(t.Kind)
	}
	if !t.Optional {
		s += "!"
	}
	return s
}

// Usage lists, per main function, the flags `dagger call FN --help` shows,
// constructor flags first.
func (m *CLIModel) Usage() []string {
	var out []string
	if c := m.Main.Constructor; c != nil {
		out = append(out, "dagger call "+flagList(c))
	}
	for _, fn := range m.Main.Functions {
		out = append(out, "dagger call "+cliName(fn.Name)+" "+flagList(fn))
	}
	return out
}

func flagList(fn *Function) string {
	var fl []string
	for _, a := range fn.Args {
		f := "--" + cliName(a.Name)
		if a.TypeDef.Optional || a.DefaultValue != "" {
			f = "[" + f + "]"
		}
		fl = append(fl, f)
	}
	if len(fl) == 0 {
		return "(no flags)"
	}
	return strings.Join(fl, " ")
}
