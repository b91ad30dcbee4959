package main

// Installs a dependency module's typedefs into a core introspection schema
// the way a v0.21.8 engine serves them to a module that depends on it. Each
// step names the engine code it follows (github.com/dagger/dagger v0.21.8):
//   - namespacing: core/module.go namespaceTypeDef/namespaceSourceMap,
//     core/gqlformat.go namespaceObject
//   - objects: core/object.go ModuleObject.Install, objField, objFun;
//     dagql/objects.go NewClass (the id field), Class.TypeDefinition
//   - functions and arguments: core/typedef.go Function.FieldSpec,
//     TypeDef.ToTyped/ToInput, FunctionArg.Directives; dagql/objects.go
//     FieldDefinition, ArgumentDefinitions
//   - the constructor on Query: core/object.go installConstructor
//   - DagsecID and loadDagsecFromID: core/schema/legacy_id.go
//   - Env.with<T>Input/Output, Binding.as<T>: core/env.go EnvHook
//   - interfaces (Node): dagql/server.go reconcileInterfaceImplsLocked
//   - rendering: dagql/introspection/types.go (directives sorted by name,
//     values as GraphQL literals, fields and types sorted by name)

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dagger/dagger/cmd/codegen/introspection"
	"github.com/iancoleman/strcase"
	"github.com/vektah/gqlparser/v2/ast"
)

// Dependency names the module as the depending module loads it.
type Dependency struct {
	// Name is the name the depender gives it (dagger.json dependencies[].name).
	Name string
	// OriginalName is the module's own name (its dagger.json name).
	OriginalName string
	// SourceSubpath is its source directory within its context directory.
	SourceSubpath string
}

type converter struct {
	dep    Dependency
	schema *introspection.Schema
	// local maps a module object's original name to its definition.
	local map[string]*ObjectTypeDef
}

// Install adds the module's types to schema.
func Install(schema *introspection.Schema, dep Dependency, mod *Module) error {
	c := &converter{dep: dep, schema: schema, local: map[string]*ObjectTypeDef{}}
	for _, def := range mod.Objects {
		c.local[def.AsObject.OriginalName] = def.AsObject
	}
	query := schema.Types.Get(schema.QueryType.Name)
	env, binding := schema.Types.Get("Env"), schema.Types.Get("Binding")
	if query == nil || env == nil || binding == nil {
		return fmt.Errorf("core schema lacks Query, Env or Binding")
	}
	var added []*introspection.Type
	for _, def := range mod.Objects {
		obj := def.AsObject
		name := c.objectName(obj.OriginalName)
		if schema.Types.Get(name) != nil || schema.Types.Get(name+"ID") != nil {
			return fmt.Errorf("type %s is already in the schema", name)
		}
		t, err := c.objectType(obj, name)
		if err != nil {
			return fmt.Errorf("object %s: %w", obj.OriginalName, err)
		}
		added = append(added, t)
		typeSM := t.Directives // the object's @sourceMap, copied onto hook fields

		// The main object (named like the module) gets a constructor on Query.
		if strcase.ToCamel(obj.OriginalName) == strcase.ToCamel(dep.OriginalName) {
			f, err := c.constructor(obj, mod, t)
			if err != nil {
				return fmt.Errorf("constructor: %w", err)
			}
			query.Fields = append(query.Fields, f)
		}

		// legacyIDHook: per-type ID scalar and loader, without a source map.
		added = append(added, &introspection.Type{
			Kind: introspection.TypeKindScalar, Name: name + "ID",
			Description: "A unique identifier for an object.", // dagql AnyID
			Interfaces:  []*introspection.Type{}, PossibleTypes: []*introspection.Type{},
			Directives: introspection.Directives{},
		})
		query.Fields = append(query.Fields, &introspection.Field{
			Name:        "load" + name + "FromID",
			Description: fmt.Sprintf("Load a %s from its ID.", name),
			TypeRef:     nonNull(named(introspection.TypeKindObject, name)),
			Args: introspection.InputValues{{
				Name: "id", TypeRef: nonNull(named(introspection.TypeKindScalar, name+"ID")),
				Directives: introspection.Directives{},
			}},
			Directives: introspection.Directives{},
		})

		// EnvHook: bindings of the new type, carrying its @sourceMap.
		str := func(n, d string) introspection.InputValue {
			return introspection.InputValue{Name: n, Description: d,
				TypeRef: nonNull(named(introspection.TypeKindScalar, "String")), Directives: introspection.Directives{}}
		}
		envRef := nonNull(named(introspection.TypeKindObject, "Env"))
		env.Fields = append(env.Fields,
			&introspection.Field{
				Name:        "with" + name + "Input",
				Description: fmt.Sprintf("Create or update a binding of type %s in the environment", name),
				TypeRef:     envRef,
				Args: introspection.InputValues{
					str("name", "The name of the binding"),
					{Name: "value", Description: fmt.Sprintf("The %s value to assign to the binding", name),
						TypeRef:    nonNull(named(introspection.TypeKindScalar, "ID")),
						Directives: introspection.Directives{expectedType(name)}},
					str("description", "The purpose of the input"),
				},
				Directives: typeSM,
			},
			&introspection.Field{
				Name:        "with" + name + "Output",
				Description: fmt.Sprintf("Declare a desired %s output to be assigned in the environment", name),
				TypeRef:     envRef,
				Args: introspection.InputValues{
					str("name", "The name of the binding"),
					str("description", "A description of the desired value of the binding"),
				},
				Directives: typeSM,
			})
		binding.Fields = append(binding.Fields, &introspection.Field{
			Name:        "as" + name,
			Description: fmt.Sprintf("Retrieve the binding value, as type %s", name),
			TypeRef:     nonNull(named(introspection.TypeKindObject, name)),
			Args:        introspection.InputValues{},
			Directives:  typeSM,
		})
	}
	schema.Types = append(schema.Types, added...)
	for _, t := range added {
		if t.Kind == introspection.TypeKindObject {
			c.implementInterfaces(t)
		}
	}
	for _, t := range []*introspection.Type{query, env, binding} {
		sortFields(t)
	}
	slices.SortFunc(schema.Types, func(a, b *introspection.Type) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// objectName is namespaceObject: the main object takes the module's name,
// Foo becomes <Module>Foo (kept if it already starts with the module name).
func (c *converter) objectName(orig string) string {
	obj := strcase.ToCamel(orig)
	modOrig := strcase.ToCamel(c.dep.OriginalName)
	if rest, ok := strings.CutPrefix(obj, modOrig); ok {
		if rest == "" {
			return strcase.ToCamel(c.dep.Name)
		}
		if 'A' <= rest[0] && rest[0] <= 'Z' {
			return strcase.ToCamel(c.dep.Name + rest)
		}
	}
	return strcase.ToCamel(c.dep.Name + "_" + obj)
}

// refName resolves an object reference: one of the module's own objects
// (namespaced) or a core type (as is).
func (c *converter) refName(o *ObjectTypeDef) (string, error) {
	if _, ok := c.local[o.OriginalName]; ok {
		return c.objectName(o.OriginalName), nil
	}
	if t := c.schema.Types.Get(o.Name); t != nil && t.Kind == introspection.TypeKindObject {
		return o.Name, nil
	}
	return "", fmt.Errorf("unknown object type %q (types of other modules are not supported)", o.OriginalName)
}

// sourceMap is namespaceSourceMap: paths become relative to the context
// directory, and every definition names its module, even without a position.
func (c *converter) sourceMap(sm *SourceMap) *introspection.Directive {
	out := SourceMap{Module: c.dep.Name}
	if sm != nil {
		out.Line, out.Column, out.URL = sm.Line, sm.Column, sm.URL
		if sm.Filename != "" {
			out.Filename = path.Join(c.dep.SourceSubpath, sm.Filename)
		}
	}
	// SourceMap.TypeDirective leaves out empty arguments.
	var args []*introspection.DirectiveArg
	add := func(name string, v *ast.Value) {
		args = append(args, &introspection.DirectiveArg{Name: name, Value: lit(v)})
	}
	if out.Module != "" {
		add("module", strValue(out.Module))
	}
	if out.Filename != "" {
		add("filename", strValue(out.Filename))
	}
	if out.Line != 0 {
		add("line", &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(out.Line)})
	}
	if out.Column != 0 {
		add("column", &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(out.Column)})
	}
	if out.URL != "" {
		add("url", strValue(out.URL))
	}
	return &introspection.Directive{Name: "sourceMap", Args: args}
}

func (c *converter) objectType(obj *ObjectTypeDef, name string) (*introspection.Type, error) {
	t := &introspection.Type{
		Kind:          introspection.TypeKindObject,
		Name:          name,
		Description:   gqlDescription(obj.Description),
		Interfaces:    []*introspection.Type{},
		PossibleTypes: []*introspection.Type{},
		Directives:    introspection.Directives{c.sourceMap(obj.SourceMap)},
	}
	// NewClass: every object has an id (its recipe argument is internal).
	t.Fields = append(t.Fields, &introspection.Field{
		Name:        "id",
		Description: fmt.Sprintf("A unique identifier for this %s.", name),
		TypeRef:     nonNull(named(introspection.TypeKindScalar, "ID")),
		Args:        introspection.InputValues{},
		Directives:  introspection.Directives{},
	})
	for _, f := range obj.Fields {
		ref, err := c.outputRef(f.TypeDef)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		// objField: the description is used as given, unformatted.
		t.Fields = append(t.Fields, withDeprecation(&introspection.Field{
			Name:        f.Name,
			Description: f.Description,
			TypeRef:     ref,
			Args:        introspection.InputValues{},
			Directives: introspection.Directives{
				c.sourceMap(f.SourceMap),
				{Name: "trivialResolveField", Args: []*introspection.DirectiveArg{}},
			},
		}, f.Deprecated))
	}
	for _, fn := range obj.Functions {
		f, err := c.function(fn)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		t.Fields = append(t.Fields, f)
	}
	sortFields(t)
	return t, nil
}

// constructor is installConstructor: the main object's constructor becomes
// Query.<module name>.
func (c *converter) constructor(obj *ObjectTypeDef, mod *Module, t *introspection.Type) (*introspection.Field, error) {
	if obj.Constructor == nil {
		desc := gqlDescription(obj.Description)
		if desc == "" {
			desc = gqlDescription(mod.Description)
		}
		return withDeprecation(&introspection.Field{
			Name:        strcase.ToLowerCamel(c.dep.Name),
			Description: desc,
			TypeRef:     nonNull(named(introspection.TypeKindObject, t.Name)),
			Args:        introspection.InputValues{},
			Directives:  introspection.Directives{c.sourceMap(obj.SourceMap)},
		}, obj.Deprecated), nil
	}
	f, err := c.function(obj.Constructor)
	if err != nil {
		return nil, err
	}
	f.Name = strcase.ToLowerCamel(c.dep.Name)
	if f.Description == "" {
		f.Description = gqlDescription(obj.Description)
	}
	if f.Description == "" {
		f.Description = gqlDescription(mod.Description)
	}
	return f, nil
}

// function is Function.FieldSpec rendered by FieldDefinition.
func (c *converter) function(fn *Function) (*introspection.Field, error) {
	ret, err := c.outputRef(fn.ReturnType)
	if err != nil {
		return nil, fmt.Errorf("return type: %w", err)
	}
	f := &introspection.Field{
		Name:        fn.Name,
		Description: gqlDescription(fn.Description),
		TypeRef:     ret,
		Args:        introspection.InputValues{},
		Directives:  introspection.Directives{c.sourceMap(fn.SourceMap)},
	}
	// Function.Directives
	if fn.IsCheck {
		f.Directives = append(f.Directives, &introspection.Directive{Name: "check", Args: []*introspection.DirectiveArg{}})
	}
	if fn.IsUp {
		f.Directives = append(f.Directives, &introspection.Directive{Name: "up", Args: []*introspection.DirectiveArg{}})
	}
	if (fn.CachePolicy != "" && fn.CachePolicy != "Default") || fn.CacheTTLSeconds != 0 {
		d := &introspection.Directive{Name: "cache", Args: []*introspection.DirectiveArg{}}
		if fn.CachePolicy != "" && fn.CachePolicy != "Default" {
			d.Args = append(d.Args, &introspection.DirectiveArg{Name: "policy", Value: lit(&ast.Value{Kind: ast.EnumValue, Raw: fn.CachePolicy})})
		}
		if fn.CacheTTLSeconds != 0 {
			ttl := (time.Duration(fn.CacheTTLSeconds) * time.Second).String()
			d.Args = append(d.Args, &introspection.DirectiveArg{Name: "ttl", Value: lit(strValue(ttl))})
		}
		f.Directives = append(f.Directives, d)
	}
	for _, a := range fn.Args {
		iv, err := c.arg(a)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", a.Name, err)
		}
		f.Args = append(f.Args, iv)
	}
	return withDeprecation(f, fn.Deprecated), nil
}

func (c *converter) arg(a *FunctionArg) (introspection.InputValue, error) {
	ref, err := c.inputRef(a.TypeDef)
	if err != nil {
		return introspection.InputValue{}, err
	}
	iv := introspection.InputValue{
		Name:        a.Name,
		Description: gqlDescription(a.Description),
		TypeRef:     ref,
		Directives:  introspection.Directives{},
	}
	if a.DefaultValue != "" {
		v, err := jsonLiteral(a.DefaultValue)
		if err != nil {
			return iv, fmt.Errorf("default value: %w", err)
		}
		iv.DefaultValue = lit(v)
	}
	// Objects (also in lists) are passed as ID with @expectedType.
	under := a.TypeDef
	for under.Kind == KindList && under.AsList != nil {
		under = under.AsList
	}
	if under.Kind == KindObject {
		name, err := c.refName(under.AsObject)
		if err != nil {
			return iv, err
		}
		iv.Directives = append(iv.Directives, expectedType(name))
	}
	iv.Directives = append(iv.Directives, c.sourceMap(a.SourceMap))
	// FunctionArg.Directives
	if a.DefaultPath != "" {
		iv.Directives = append(iv.Directives, &introspection.Directive{Name: "defaultPath",
			Args: []*introspection.DirectiveArg{{Name: "path", Value: lit(strValue(a.DefaultPath))}}})
	}
	if a.DefaultAddress != "" {
		iv.Directives = append(iv.Directives, &introspection.Directive{Name: "defaultAddress",
			Args: []*introspection.DirectiveArg{{Name: "address", Value: lit(strValue(a.DefaultAddress))}}})
	}
	if len(a.Ignore) > 0 {
		list := &ast.Value{Kind: ast.ListValue}
		for _, p := range a.Ignore {
			list.Children = append(list.Children, &ast.ChildValue{Value: strValue(p)})
		}
		iv.Directives = append(iv.Directives, &introspection.Directive{Name: "ignorePatterns",
			Args: []*introspection.DirectiveArg{{Name: "patterns", Value: lit(list)}}})
	}
	if a.Deprecated != nil {
		iv.IsDeprecated = true
		iv.DeprecationReason = deprecationReason(*a.Deprecated)
		iv.Directives = append(iv.Directives, deprecatedDirective(*a.Deprecated))
	}
	sortDirectives(iv.Directives)
	return iv, nil
}

// outputRef is TypeDef.ToTyped().Type(): objects by name.
func (c *converter) outputRef(t *TypeDef) (*introspection.TypeRef, error) { return c.typeRef(t, false) }

// inputRef is TypeDef.ToInput().Type(): objects as ID.
func (c *converter) inputRef(t *TypeDef) (*introspection.TypeRef, error) { return c.typeRef(t, true) }

func (c *converter) typeRef(t *TypeDef, input bool) (*introspection.TypeRef, error) {
	var ref *introspection.TypeRef
	switch t.Kind {
	case KindString:
		ref = named(introspection.TypeKindScalar, "String")
	case KindInteger:
		ref = named(introspection.TypeKindScalar, "Int")
	case KindFloat:
		ref = named(introspection.TypeKindScalar, "Float")
	case KindBoolean:
		ref = named(introspection.TypeKindScalar, "Boolean")
	case KindVoid:
		ref = named(introspection.TypeKindScalar, "Void")
	case KindList:
		if t.AsList == nil {
			return nil, fmt.Errorf("list without element type")
		}
		elem, err := c.typeRef(t.AsList, input)
		if err != nil {
			return nil, err
		}
		ref = &introspection.TypeRef{Kind: introspection.TypeKindList, OfType: elem}
	case KindObject:
		if input {
			ref = named(introspection.TypeKindScalar, "ID")
		} else {
			name, err := c.refName(t.AsObject)
			if err != nil {
				return nil, err
			}
			ref = named(introspection.TypeKindObject, name)
		}
	default:
		return nil, fmt.Errorf("type kind %q is not supported by schemagen", t.Kind)
	}
	if !t.Optional {
		ref = nonNull(ref)
	}
	return ref, nil
}

// implementInterfaces marks t as implementing every interface whose fields
// it has with the same types and arguments (the structural check dagql
// makes; in practice Node, through id: ID!).
func (c *converter) implementInterfaces(t *introspection.Type) {
	for _, iface := range c.schema.Types {
		if iface.Kind != introspection.TypeKindInterface || !implements(t, iface) {
			continue
		}
		t.Interfaces = append(t.Interfaces, &introspection.Type{Kind: introspection.TypeKindInterface, Name: iface.Name})
		iface.PossibleTypes = append(iface.PossibleTypes, &introspection.Type{Kind: introspection.TypeKindObject, Name: t.Name})
		slices.SortFunc(iface.PossibleTypes, func(a, b *introspection.Type) int { return strings.Compare(a.Name, b.Name) })
	}
	slices.SortFunc(t.Interfaces, func(a, b *introspection.Type) int { return strings.Compare(a.Name, b.Name) })
}

func implements(t, iface *introspection.Type) bool {
	for _, want := range iface.Fields {
		i := slices.IndexFunc(t.Fields, func(f *introspection.Field) bool { return f.Name == want.Name })
		if i < 0 || refString(t.Fields[i].TypeRef) != refString(want.TypeRef) {
			return false
		}
		for _, wa := range want.Args {
			j := slices.IndexFunc(t.Fields[i].Args, func(a introspection.InputValue) bool { return a.Name == wa.Name })
			if j < 0 || refString(t.Fields[i].Args[j].TypeRef) != refString(wa.TypeRef) {
				return false
			}
		}
	}
	return true
}

func refString(r *introspection.TypeRef) string {
	switch {
	case r == nil:
		return ""
	case r.Kind == introspection.TypeKindNonNull:
		return refString(r.OfType) + "!"
	case r.Kind == introspection.TypeKindList:
		return "[" + refString(r.OfType) + "]"
	default:
		return r.Name
	}
}

// gqlDescription is formatGqlDescription.
func gqlDescription(d string) string {
	if d == "" {
		return ""
	}
	return "\n" + strings.TrimSpace(d) + "\n"
}

func withDeprecation(f *introspection.Field, reason *string) *introspection.Field {
	if reason != nil {
		f.IsDeprecated = true
		f.DeprecationReason = deprecationReason(*reason)
		f.Directives = append(f.Directives, deprecatedDirective(*reason))
	}
	sortDirectives(f.Directives)
	return f
}

func deprecatedDirective(reason string) *introspection.Directive {
	d := &introspection.Directive{Name: "deprecated", Args: []*introspection.DirectiveArg{}}
	if reason != "" {
		d.Args = append(d.Args, &introspection.DirectiveArg{Name: "reason", Value: lit(strValue(reason))})
	}
	return d
}

func deprecationReason(reason string) *string {
	if reason == "" {
		reason = "No longer supported"
	}
	return &reason
}

func expectedType(name string) *introspection.Directive {
	return &introspection.Directive{Name: "expectedType",
		Args: []*introspection.DirectiveArg{{Name: "name", Value: lit(strValue(name))}}}
}

// sortDirectives: introspection lists applied directives by name.
func sortDirectives(ds introspection.Directives) {
	slices.SortStableFunc(ds, func(a, b *introspection.Directive) int { return strings.Compare(a.Name, b.Name) })
}

func sortFields(t *introspection.Type) {
	slices.SortStableFunc(t.Fields, func(a, b *introspection.Field) int { return strings.Compare(a.Name, b.Name) })
}

func named(kind introspection.TypeKind, name string) *introspection.TypeRef {
	return &introspection.TypeRef{Kind: kind, Name: name}
}

func nonNull(r *introspection.TypeRef) *introspection.TypeRef {
	return &introspection.TypeRef{Kind: introspection.TypeKindNonNull, OfType: r}
}

func strValue(s string) *ast.Value { return &ast.Value{Kind: ast.StringValue, Raw: s} }

// lit renders a value as introspection does: as a GraphQL literal.
func lit(v *ast.Value) *string {
	s := v.String()
	return &s
}

// jsonLiteral turns an SDK's JSON default into the literal dagql renders
// (call.Literal.ToAST): numbers as written, strings quoted, lists nested.
func jsonLiteral(js string) (*ast.Value, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(js)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return toAST(v)
}

func toAST(v any) (*ast.Value, error) {
	switch x := v.(type) {
	case nil:
		return &ast.Value{Kind: ast.NullValue, Raw: "null"}, nil
	case bool:
		return &ast.Value{Kind: ast.BooleanValue, Raw: strconv.FormatBool(x)}, nil
	case string:
		return strValue(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return &ast.Value{Kind: ast.IntValue, Raw: strconv.FormatInt(i, 10)}, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return &ast.Value{Kind: ast.FloatValue, Raw: fmt.Sprintf("%v", f)}, nil
	case []any:
		list := &ast.Value{Kind: ast.ListValue}
		for _, e := range x {
			ev, err := toAST(e)
			if err != nil {
				return nil, err
			}
			list.Children = append(list.Children, &ast.ChildValue{Value: ev})
		}
		return list, nil
	default:
		return nil, fmt.Errorf("unsupported default value %T", v)
	}
}
