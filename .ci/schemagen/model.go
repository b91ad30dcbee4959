package main

// The module type definitions an SDK registers with the engine, kept the way
// the engine's core package keeps them (core/typedef.go, core/module.go in
// github.com/dagger/dagger v0.21.8): names are normalised when a definition
// is created, every With* returns a changed copy, so an ID handed out earlier
// keeps naming the value it named.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iancoleman/strcase"
)

// TypeDefKind values as the engine stores them (the API also accepts the
// *_KIND spellings; see normKind).
const (
	KindString  = "STRING"
	KindInteger = "INTEGER"
	KindFloat   = "FLOAT"
	KindBoolean = "BOOLEAN"
	KindList    = "LIST"
	KindObject  = "OBJECT"
	KindVoid    = "VOID"
)

// Module is what the SDK's typedefs pass builds from dag.Module().
type Module struct {
	Description string     `json:"description,omitempty"`
	Objects     []*TypeDef `json:"objects"`
}

type TypeDef struct {
	Kind     string         `json:"kind"`
	Optional bool           `json:"optional,omitempty"`
	AsList   *TypeDef       `json:"listOf,omitempty"`
	AsObject *ObjectTypeDef `json:"object,omitempty"`
}

type ObjectTypeDef struct {
	// Name is the GraphQL name (CamelCase); OriginalName the SDK's name,
	// which namespacing starts from.
	Name         string          `json:"name"`
	OriginalName string          `json:"originalName"`
	Description  string          `json:"description,omitempty"`
	SourceMap    *SourceMap      `json:"sourceMap,omitempty"`
	Deprecated   *string         `json:"deprecated,omitempty"`
	Fields       []*FieldTypeDef `json:"fields,omitempty"`
	Functions    []*Function     `json:"functions,omitempty"`
	Constructor  *Function       `json:"constructor,omitempty"`
}

type FieldTypeDef struct {
	Name         string     `json:"name"`
	OriginalName string     `json:"originalName"`
	Description  string     `json:"description,omitempty"`
	TypeDef      *TypeDef   `json:"typeDef"`
	SourceMap    *SourceMap `json:"sourceMap,omitempty"`
	Deprecated   *string    `json:"deprecated,omitempty"`
}

type Function struct {
	Name         string         `json:"name"`
	OriginalName string         `json:"originalName"`
	Description  string         `json:"description,omitempty"`
	Args         []*FunctionArg `json:"args,omitempty"`
	ReturnType   *TypeDef       `json:"returnType"`
	Deprecated   *string        `json:"deprecated,omitempty"`
	SourceMap    *SourceMap     `json:"sourceMap,omitempty"`
	// CachePolicy is "", Default, PerSession or Never.
	CachePolicy     string `json:"cachePolicy,omitempty"`
	CacheTTLSeconds int64  `json:"cacheTTLSeconds,omitempty"`
	IsCheck         bool   `json:"check,omitempty"`
	IsGenerator     bool   `json:"generator,omitempty"`
	IsUp            bool   `json:"up,omitempty"`
}

type FunctionArg struct {
	Name         string   `json:"name"`
	OriginalName string   `json:"originalName"`
	Description  string   `json:"description,omitempty"`
	TypeDef      *TypeDef `json:"typeDef"`
	// DefaultValue is JSON, as the SDK sends it; empty means none.
	DefaultValue   string     `json:"defaultValue,omitempty"`
	DefaultPath    string     `json:"defaultPath,omitempty"`
	DefaultAddress string     `json:"defaultAddress,omitempty"`
	Ignore         []string   `json:"ignore,omitempty"`
	SourceMap      *SourceMap `json:"sourceMap,omitempty"`
	Deprecated     *string    `json:"deprecated,omitempty"`
}

type SourceMap struct {
	Module   string `json:"module,omitempty"`
	Filename string `json:"filename,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	URL      string `json:"url,omitempty"`
}

// normKind accepts both enum spellings (STRING_KIND and STRING).
func normKind(kind string) string { return strings.TrimSuffix(kind, "_KIND") }

// strcaseLowerCamel is how core names fields and arguments.
func strcaseLowerCamel(name string) string { return strcase.ToLowerCamel(name) }

// newFunction is core.NewFunction: a lowerCamel GraphQL name, loadXFromID
// kept as is.
func newFunction(name string, returnType *TypeDef) *Function {
	gqlName := strcase.ToLowerCamel(name)
	if strings.HasPrefix(name, "load") && strings.HasSuffix(name, "FromID") && strings.HasSuffix(gqlName, "FromId") {
		gqlName = strings.TrimSuffix(gqlName, "FromId") + "FromID"
	}
	return &Function{Name: gqlName, OriginalName: name, ReturnType: returnType}
}

func (m Module) withObject(def *TypeDef) (*Module, error) {
	if def.AsObject == nil {
		return nil, fmt.Errorf("expected object type def, got %s", def.Kind)
	}
	m.Objects = append(slices.Clone(m.Objects), def)
	return &m, nil
}

func (t TypeDef) withKind(kind string) *TypeDef { t.Kind = normKind(kind); return &t }

func (t TypeDef) withOptional(optional bool) *TypeDef { t.Optional = optional; return &t }

func (t TypeDef) withListOf(elem *TypeDef) *TypeDef {
	t.Kind, t.AsList = KindList, elem
	return &t
}

func (t TypeDef) withObject(name, description string, sm *SourceMap, deprecated *string) *TypeDef {
	t.Kind = KindObject
	t.AsObject = &ObjectTypeDef{
		Name:         strcase.ToCamel(name),
		OriginalName: name,
		Description:  description,
		SourceMap:    sm,
		Deprecated:   deprecated,
	}
	return &t
}

// object returns a copy of the object definition for a With* to change.
func (t *TypeDef) object() (*TypeDef, *ObjectTypeDef, error) {
	if t.Kind != KindObject || t.AsObject == nil {
		return nil, nil, fmt.Errorf("not an object type def: %s", t.Kind)
	}
	cp, obj := *t, *t.AsObject
	obj.Fields, obj.Functions = slices.Clone(obj.Fields), slices.Clone(obj.Functions)
	cp.AsObject = &obj
	return &cp, &obj, nil
}

// withField replaces a field of the same name, as core's WithField does.
func (t *TypeDef) withField(f *FieldTypeDef) (*TypeDef, error) {
	cp, obj, err := t.object()
	if err != nil {
		return nil, err
	}
	for i, old := range obj.Fields {
		if old.OriginalName == f.OriginalName || old.Name == f.Name {
			obj.Fields[i] = f
			return cp, nil
		}
	}
	obj.Fields = append(obj.Fields, f)
	return cp, nil
}

func (t *TypeDef) withFunction(fn *Function) (*TypeDef, error) {
	cp, obj, err := t.object()
	if err != nil {
		return nil, err
	}
	for i, old := range obj.Functions {
		if old.OriginalName == fn.OriginalName || old.Name == fn.Name {
			obj.Functions[i] = fn
			return cp, nil
		}
	}
	obj.Functions = append(obj.Functions, fn)
	return cp, nil
}

func (t *TypeDef) withConstructor(fn *Function) (*TypeDef, error) {
	cp, obj, err := t.object()
	if err != nil {
		return nil, err
	}
	// __asConstructor: a constructor has no name of its own; it is installed
	// under the module's name.
	c := *fn
	c.Name, c.OriginalName = "", ""
	obj.Constructor = &c
	return cp, nil
}

func (f Function) withDescription(d string) *Function {
	f.Description = strings.TrimSpace(d)
	return &f
}

func (f Function) withDeprecated(reason *string) *Function { f.Deprecated = reason; return &f }

func (f Function) withSourceMap(sm *SourceMap) *Function { f.SourceMap = sm; return &f }

func (f Function) withCheck() *Function     { f.IsCheck = true; return &f }
func (f Function) withGenerator() *Function { f.IsGenerator = true; return &f }
func (f Function) withUp() *Function        { f.IsUp = true; return &f }

// withCachePolicy mirrors moduleSchema.functionWithCachePolicy (bounds
// checks left to the engine).
func (f Function) withCachePolicy(policy string, ttl *string) (*Function, error) {
	f.CachePolicy = policy
	if ttl != nil {
		d, err := time.ParseDuration(*ttl)
		if err != nil {
			return nil, fmt.Errorf("cache time to live %q: %w", *ttl, err)
		}
		if d == 0 {
			f.CachePolicy = "Never"
		} else {
			f.CacheTTLSeconds = int64(d.Seconds())
		}
	}
	return &f, nil
}

// withArg mirrors moduleSchema.functionWithArg and core.NewFunctionArg: an
// argument with a default path or address becomes optional.
func (f Function) withArg(a *FunctionArg) *Function {
	a.OriginalName, a.Name = a.Name, strcase.ToLowerCamel(a.Name)
	if a.DefaultPath != "" || a.DefaultAddress != "" {
		a.TypeDef = a.TypeDef.withOptional(true)
	}
	f.Args = slices.Clone(f.Args)
	for i, old := range f.Args {
		if old.OriginalName == a.OriginalName || old.Name == a.Name {
			f.Args[i] = a
			return &f
		}
	}
	f.Args = append(f.Args, a)
	return &f
}
