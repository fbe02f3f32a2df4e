#!/usr/bin/python3
"""Validate docs/openapi.yaml and check HTTP responses against it.

Uses only the Debian packages python3-yaml and python3-jsonschema (4.10.x); no network.

Library use (from an integration test)::

    import openapi_check as oc
    spec = oc.load_spec(path_to_openapi_yaml)           # -> dict
    errs = oc.validate_spec(spec)                        # -> list[str], [] when valid
    errs = oc.validate_response(spec, "GET", "/v1/jobs/slurm-1?x=1", 200,
                                headers, body_bytes)     # -> list[str], [] when valid

`headers` may be a dict, a list of (name, value) pairs or an http.client.HTTPMessage;
names are matched case-insensitively. `body_bytes` is the raw body (bytes or str).

Command line::

    /usr/bin/python3 openapi_check.py SPEC     # TAP on stdout, exit 0 when every check passes

The OpenAPI 3.1 meta-schema is vendored next to this file as oas-3.1-schema.json
($id https://spec.openapis.org/oas/3.1/schema/2022-10-07, "without schema validation"
variant). Provenance: transcribed from schemas/v3.1/schema.json of a fork of
OAI/OpenAPI-Specification that carries the 2022-10-07 $id (the OAI repository's own stored
copy was an older revision); the fork had replaced the security-requirement definition and
that one definition was restored to the upstream text (array of strings). Not verified
byte-for-byte against the published file.
"""

import datetime
import json
import os
import re
import sys
from urllib.parse import unquote, urlsplit

import jsonschema
import yaml
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

HERE = os.path.dirname(os.path.abspath(__file__))
META_SCHEMA_PATH = os.path.join(HERE, "oas-3.1-schema.json")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# --------------------------------------------------------------------------------------------
# formats

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+-](\d{2}):(\d{2}))$")


def is_rfc3339(value):
    """True when value is an RFC 3339 date-time with a zone and a possible calendar date."""
    if not isinstance(value, str):
        return False
    m = _RFC3339.match(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if hour > 23 or minute > 59 or second > 60:
        return False
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    if m.group(9) is not None:
        if int(m.group(9)) > 23 or int(m.group(10)) > 59:
            return False
    return True


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_hostname(value):
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    return all(_HOST_LABEL.match(label) for label in value.rstrip(".").split("."))


def make_format_checker():
    """A FormatChecker that checks date-time (RFC 3339 with zone) and hostname itself,
    so that the result does not depend on optional Python packages."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(instance):  # pylint: disable=unused-variable
        if not isinstance(instance, str):
            return True
        return is_rfc3339(instance)

    @checker.checks("hostname")
    def _hostname(instance):  # pylint: disable=unused-variable
        if not isinstance(instance, str):
            return True
        return is_hostname(instance)

    return checker


FORMAT_CHECKER = make_format_checker()
# Validator for the Draft 2020-12 meta-schema (what Draft202012Validator.check_schema uses).
_META_2020_12 = Draft202012Validator(Draft202012Validator.META_SCHEMA)

# --------------------------------------------------------------------------------------------
# loading and references


def load_spec(path):
    """Parse the OpenAPI YAML (or JSON) file at path and return it as a dict."""
    with open(path, "r", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    if not isinstance(spec, dict):
        raise ValueError("%s: top level is not a mapping" % path)
    return spec


def _pointer_get(doc, pointer):
    """Resolve a JSON pointer ('/a/b') in doc; raises KeyError when it does not resolve."""
    if pointer in ("", "/"):
        return doc if pointer == "" else doc[""]
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    cur = doc
    for raw in pointer[1:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict):
            if part not in cur:
                raise KeyError(pointer)
            cur = cur[part]
        elif isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                raise KeyError(pointer)
            cur = cur[int(part)]
        else:
            raise KeyError(pointer)
    return cur


def resolve_ref(spec, ref):
    """Resolve an internal reference '#/...' against spec."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise KeyError("not an internal reference: %r" % (ref,))
    return _pointer_get(spec, ref[1:])


def deref(spec, obj, _depth=0):
    """Follow Reference Objects ({'$ref': ...}) until a non-reference object."""
    while isinstance(obj, dict) and "$ref" in obj and _depth < 50:
        obj = resolve_ref(spec, obj["$ref"])
        _depth += 1
    return obj


def _walk(node, path=""):
    """Yield (json_path, node) for every dict/list node."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                yield from _walk(v, "%s/%s" % (path, str(k).replace("~", "~0").replace("/", "~1")))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                yield from _walk(v, "%s/%d" % (path, i))


def _schema_validator(spec, schema):
    resolver = RefResolver(base_uri="", referrer=spec)
    return Draft202012Validator(schema, resolver=resolver, format_checker=FORMAT_CHECKER)


def _fmt_error(err):
    where = getattr(err, "json_path", None)
    if where is None:
        where = "$" + "".join("[%r]" % (p,) for p in err.absolute_path)
    return "%s: %s" % (where, err.message)


def validate_instance(spec, schema, instance):
    """Validate instance against schema (which may contain '#/components/...' refs)."""
    v = _schema_validator(spec, schema)
    errs = sorted(v.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [_fmt_error(e) for e in errs]

# --------------------------------------------------------------------------------------------
# spec validation


def _iter_operations(spec):
    paths = spec.get("paths") or {}
    if not isinstance(paths, dict):
        return
    for tpath, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield tpath, method, item, op


def _schema_objects(spec):
    """Yield (location, schema) for every Schema Object of the document (not subschemas)."""
    comps = spec.get("components") or {}
    for name, sch in (comps.get("schemas") or {}).items():
        yield "#/components/schemas/%s" % name, sch

    def media_schemas(content, where):
        if isinstance(content, dict):
            for mt, media in content.items():
                if isinstance(media, dict) and "schema" in media:
                    yield "%s/content/%s/schema" % (where, mt), media["schema"]

    def param_like(obj, where):
        if isinstance(obj, dict) and "$ref" not in obj:
            if "schema" in obj:
                yield where + "/schema", obj["schema"]
            yield from media_schemas(obj.get("content"), where)

    for name, p in (comps.get("parameters") or {}).items():
        yield from param_like(p, "#/components/parameters/%s" % name)
    for name, h in (comps.get("headers") or {}).items():
        yield from param_like(h, "#/components/headers/%s" % name)
    for name, r in (comps.get("responses") or {}).items():
        if isinstance(r, dict) and "$ref" not in r:
            where = "#/components/responses/%s" % name
            yield from media_schemas(r.get("content"), where)
            for hn, h in (r.get("headers") or {}).items():
                yield from param_like(h, "%s/headers/%s" % (where, hn))
    for name, rb in (comps.get("requestBodies") or {}).items():
        if isinstance(rb, dict) and "$ref" not in rb:
            yield from media_schemas(rb.get("content"), "#/components/requestBodies/%s" % name)
    for tpath, method, item, op in _iter_operations(spec):
        base = "#/paths/%s/%s" % (tpath.replace("~", "~0").replace("/", "~1"), method)
        for i, p in enumerate(item.get("parameters") or []):
            yield from param_like(p, "#/paths/%s/parameters/%d" % (tpath.replace("~", "~0").replace("/", "~1"), i))
        for i, p in enumerate(op.get("parameters") or []):
            yield from param_like(p, "%s/parameters/%d" % (base, i))
        rb = op.get("requestBody")
        if isinstance(rb, dict) and "$ref" not in rb:
            yield from media_schemas(rb.get("content"), base + "/requestBody")
        for code, resp in (op.get("responses") or {}).items():
            if isinstance(resp, dict) and "$ref" not in resp:
                yield from media_schemas(resp.get("content"), "%s/responses/%s" % (base, code))
                for hn, h in (resp.get("headers") or {}).items():
                    yield from param_like(h, "%s/responses/%s/headers/%s" % (base, code, hn))


def check_meta_schema(spec):
    try:
        with open(META_SCHEMA_PATH, "r", encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        return ["cannot load OpenAPI meta-schema %s: %s" % (META_SCHEMA_PATH, exc)]
    if spec.get("openapi") != "3.1.0":
        pre = ["openapi must be '3.1.0', found %r" % (spec.get("openapi"),)]
    else:
        pre = []
    v = Draft202012Validator(meta, resolver=RefResolver.from_schema(meta))
    # Deepest (most specific) errors first: a failure deep down also makes every enclosing
    # object report its properties as "unevaluated".
    errs = sorted(v.iter_errors(spec), key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
    out = pre + [_fmt_error(e) for e in errs]
    # Also make sure the document is plain JSON data (YAML could give dates, non-str keys).
    try:
        json.dumps(spec, allow_nan=False)
    except (TypeError, ValueError) as exc:
        out.append("document is not plain JSON data: %s" % exc)
    for where, node in _walk(spec):
        if isinstance(node, dict):
            for k in node:
                if not isinstance(k, str):
                    out.append("%s: non-string key %r" % (where or "/", k))
    return out


def check_refs(spec):
    out = []
    for where, node in _walk(spec):
        if isinstance(node, dict) and "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                out.append("%s: external or malformed $ref %r (only '#/...' allowed)" % (where or "/", ref))
                continue
            try:
                resolve_ref(spec, ref)
            except KeyError:
                out.append("%s: $ref %r does not resolve" % (where or "/", ref))
    return out


_TEMPLATE_VAR = re.compile(r"\{([^{}/]+)\}")


def _declared_params(spec, item, op):
    params = {}
    for source in (item.get("parameters") or [], op.get("parameters") or []):
        for p in source:
            try:
                p = deref(spec, p)
            except KeyError:
                continue
            if isinstance(p, dict) and "name" in p and "in" in p:
                params[(p["name"], p["in"])] = p  # operation-level overrides path-level
    return params


def check_path_params(spec):
    out = []
    seen_shapes = {}
    for tpath in (spec.get("paths") or {}):
        shape = _TEMPLATE_VAR.sub("{}", tpath)
        if shape in seen_shapes:
            out.append("paths %s and %s are equivalent templates" % (seen_shapes[shape], tpath))
        seen_shapes[shape] = tpath
        if tpath.count("{") != tpath.count("}") or len(_TEMPLATE_VAR.findall(tpath)) != tpath.count("{"):
            out.append("path %s: malformed template" % tpath)
    for tpath, method, item, op in _iter_operations(spec):
        names = _TEMPLATE_VAR.findall(tpath)
        if len(set(names)) != len(names):
            out.append("%s: a template variable appears twice" % tpath)
        params = _declared_params(spec, item, op)
        declared = {n for (n, loc) in params if loc == "path"}
        for n in names:
            if n not in declared:
                out.append("%s %s: path parameter {%s} is not declared" % (method.upper(), tpath, n))
            elif params[(n, "path")].get("required") is not True:
                out.append("%s %s: path parameter {%s} must be required: true" % (method.upper(), tpath, n))
        for n in declared - set(names):
            out.append("%s %s: declares path parameter %r that is not in the path" % (method.upper(), tpath, n))
        # duplicates within one list
        for label, lst in (("path item", item.get("parameters") or []), ("operation", op.get("parameters") or [])):
            keys = []
            for p in lst:
                try:
                    p = deref(spec, p)
                except KeyError:
                    continue
                if isinstance(p, dict):
                    key = (str(p.get("name")).lower() if p.get("in") == "header" else p.get("name"), p.get("in"))
                    if key in keys:
                        out.append("%s %s: %s parameter %s in %s declared twice" % (method.upper(), tpath, label, key[0], key[1]))
                    keys.append(key)
    return out


def check_responses(spec):
    out = []
    ops = list(_iter_operations(spec))
    if not ops:
        out.append("the document has no operations")
    for tpath, method, _item, op in ops:
        resp = op.get("responses")
        if not isinstance(resp, dict) or not resp:
            out.append("%s %s: no responses" % (method.upper(), tpath))
            continue
        for code, r in resp.items():
            if not re.match(r"^([1-5][0-9]{2}|[1-5]XX|default)$", str(code)):
                out.append("%s %s: bad response key %r" % (method.upper(), tpath, code))
            try:
                r = deref(spec, r)
            except KeyError:
                out.append("%s %s %s: response $ref does not resolve" % (method.upper(), tpath, code))
                continue
            if not isinstance(r, dict) or "description" not in r:
                out.append("%s %s %s: response has no description" % (method.upper(), tpath, code))
            if str(code) == "204" and isinstance(r, dict) and r.get("content"):
                out.append("%s %s 204: a 204 response must not have content" % (method.upper(), tpath))
    return out


def check_operation_ids(spec):
    out = []
    seen = {}
    for tpath, method, _item, op in _iter_operations(spec):
        oid = op.get("operationId")
        where = "%s %s" % (method.upper(), tpath)
        if not isinstance(oid, str) or not oid:
            out.append("%s: missing operationId" % where)
            continue
        if oid in seen:
            out.append("operationId %r used by both %s and %s" % (oid, seen[oid], where))
        else:
            seen[oid] = where
    return out


def check_schemas(spec):
    out = []
    for where, sch in _schema_objects(spec):
        try:
            target = deref(spec, sch)
        except KeyError:
            out.append("%s: $ref does not resolve" % where)
            continue
        candidates = [(where, sch)]
        if target is not sch:
            candidates.append((where + " (resolved)", target))
        for label, s in candidates:
            if not isinstance(s, (dict, bool)):
                out.append("%s: a schema must be an object or a boolean" % label)
                continue
            meta_errors = list(_META_2020_12.iter_errors(s))
            if meta_errors:
                best = jsonschema.exceptions.best_match(meta_errors)
                out.append("%s: not a valid Draft 2020-12 schema: %s" % (label, _fmt_error(best)))
        # Every $ref inside the schema must resolve too (caught by check_refs) and the schema
        # must be usable by a validator rooted at the spec.
        try:
            _schema_validator(spec, sch).is_valid(None)
        except Exception as exc:  # pylint: disable=broad-except
            out.append("%s: cannot be used for validation: %s" % (where, exc))
    return out


def check_examples(spec):
    """Examples given in schemas and media types must validate against their schemas."""
    out = []
    for where, sch in _schema_objects(spec):
        if isinstance(sch, dict):
            for i, ex in enumerate(sch.get("examples") or []):
                for e in validate_instance(spec, sch, ex):
                    out.append("%s examples[%d]: %s" % (where, i, e))
    for where, node in _walk(spec):
        if isinstance(node, dict) and "schema" in node and "example" in node and "/content/" in where:
            media_type = where.rsplit("/content/", 1)[1].replace("~1", "/").replace("~0", "~")
            if media_type.split(";")[0].strip().lower().endswith("json"):
                for e in validate_instance(spec, node["schema"], node["example"]):
                    out.append("%s example: %s" % (where, e))
            else:
                if not isinstance(node["example"], str):
                    out.append("%s example: not a string" % where)
    return out


# (tag used in validate_spec messages, TAP description, function)
SPEC_CHECKS = (
    ("meta-schema", "document is valid against the OpenAPI 3.1 meta-schema (2022-10-07)", check_meta_schema),
    ("refs", "every $ref resolves", check_refs),
    ("path-params", "every path parameter is declared", check_path_params),
    ("responses", "every operation has responses", check_responses),
    ("operation-ids", "operationIds are present and unique", check_operation_ids),
    ("schemas", "every Schema Object is a valid Draft 2020-12 schema", check_schemas),
    ("examples", "examples validate against their schemas", check_examples),
)


def run_spec_checks(spec):
    """Return [(tag, description, [errors])] for every check group."""
    results = []
    for tag, name, fn in SPEC_CHECKS:
        try:
            errs = fn(spec)
        except Exception as exc:  # pylint: disable=broad-except
            errs = ["check crashed: %s: %s" % (type(exc).__name__, exc)]
        results.append((tag, name, errs))
    return results


def validate_spec(spec):
    """Validate an OpenAPI document (dict). Returns a list of error strings ([] = valid)."""
    if not isinstance(spec, dict):
        return ["the document is not a mapping"]
    out = []
    for tag, _name, errs in run_spec_checks(spec):
        out.extend("[%s] %s" % (tag, e) for e in errs)
    return out

# --------------------------------------------------------------------------------------------
# response validation


def _norm_headers(headers):
    out = {}
    if headers is None:
        return out
    items = headers.items() if hasattr(headers, "items") else headers
    for k, v in items:
        k = str(k).lower()
        out[k] = v if k not in out else "%s, %s" % (out[k], v)
    return out


def _match_path(spec, concrete):
    """Return (template, {var: value}) for the best-matching path template, or (None, None)."""
    segs = concrete.split("/")
    best = None
    for tpath in (spec.get("paths") or {}):
        tsegs = tpath.split("/")
        if len(tsegs) != len(segs):
            continue
        vars_ = {}
        literal = 0
        ok = True
        for t, c in zip(tsegs, segs):
            m = re.fullmatch(r"\{([^{}/]+)\}", t)
            if m:
                if c == "":
                    ok = False
                    break
                vars_[m.group(1)] = unquote(c)
            elif t == c:
                literal += 1
            else:
                ok = False
                break
        if ok and (best is None or literal > best[0]):
            best = (literal, tpath, vars_)
    if best is None:
        return None, None
    return best[1], best[2]


def _parse_media(value):
    parts = [p.strip() for p in str(value).split(";")]
    mtype = parts[0].lower()
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return mtype, params


def _media_matches(spec_key, actual):
    stype, sparams = _parse_media(spec_key)
    atype, aparams = _parse_media(actual)
    if stype != "*/*":
        if stype.endswith("/*"):
            if atype.split("/")[0] != stype.split("/")[0]:
                return False
        elif stype != atype:
            return False
    for k, v in sparams.items():
        av = aparams.get(k)
        if av is None:
            return False
        if (av.lower() if k == "charset" else av) != (v.lower() if k == "charset" else v):
            return False
    return True


def _check_headers(spec, response, hdrs, label):
    out = []
    for name, h in (response.get("headers") or {}).items():
        try:
            h = deref(spec, h)
        except KeyError:
            out.append("%s: header %s: $ref does not resolve" % (label, name))
            continue
        if name.lower() == "content-type":
            continue  # ignored by OpenAPI
        value = hdrs.get(name.lower())
        if value is None:
            if h.get("required"):
                out.append("%s: required response header %s is missing" % (label, name))
            continue
        if "schema" in h:
            for e in validate_instance(spec, h["schema"], value):
                out.append("%s: header %s=%r: %s" % (label, name, value, e))
    return out


def _check_body(spec, response, hdrs, body, label):
    out = []
    content = response.get("content") or {}
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not content:
        if body.strip():
            out.append("%s: the response is documented without a body but has %d bytes" % (label, len(body)))
        return out
    ctype = hdrs.get("content-type")
    if ctype is None:
        return ["%s: Content-Type header is missing (expected one of %s)" % (label, ", ".join(content))]
    key = None
    for k in content:
        if _media_matches(k, ctype):
            key = k
            break
    if key is None:
        return ["%s: Content-Type %r is not documented (expected one of %s)" % (label, ctype, ", ".join(content))]
    media = content[key] or {}
    schema = media.get("schema")
    mtype, params = _parse_media(ctype)
    charset = params.get("charset", "utf-8")
    try:
        text = body.decode(charset if charset.lower() in ("utf-8", "utf8", "us-ascii") else "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        return ["%s: body is not valid %s: %s" % (label, charset, exc)]
    if mtype == "application/json" or mtype.endswith("+json"):
        try:
            instance = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError("non-JSON constant " + c)))
        except ValueError as exc:
            return ["%s: body is not valid JSON: %s" % (label, exc)]
    else:
        instance = text
    if schema is not None:
        for e in validate_instance(spec, schema, instance):
            out.append("%s: body %s" % (label, e))
    return out


def validate_response(spec, method, path, status, headers, body_bytes):
    """Check one HTTP response against the spec. Returns a list of error strings ([] = ok).

    method: 'GET', 'post', ...; path: the request path as sent (query string allowed,
    e.g. '/v1/jobs/slurm-1/metrics?limit=5'); status: int; headers: dict / list of pairs /
    HTTPMessage; body_bytes: the raw response body (bytes or str).
    """
    method_l = str(method).lower()
    try:
        status = int(status)
    except (TypeError, ValueError):
        return ["status %r is not an integer" % (status,)]
    rpath = urlsplit(path).path if ("?" in path or "#" in path or "://" in path) else path
    label = "%s %s -> %d" % (method_l.upper(), rpath, status)
    hdrs = _norm_headers(headers)
    responses_comp = (spec.get("components") or {}).get("responses") or {}

    tpath, _vars = _match_path(spec, rpath)
    if tpath is None:
        # Unknown path: the contract answers 404 not_found.
        if status != 404:
            return ["%s: path matches no documented path (only 404 is acceptable), got %d" % (label, status)]
        if "NotFound" not in responses_comp:
            return ["%s: path matches no documented path" % label]
        response = deref(spec, responses_comp["NotFound"])
        return _check_headers(spec, response, hdrs, label) + _check_body(spec, response, hdrs, body_bytes, label)

    item = spec["paths"][tpath]
    op = item.get(method_l) if isinstance(item, dict) else None
    if not isinstance(op, dict):
        # Known path, undocumented method: the contract answers 405 with Allow.
        if status != 405:
            return ["%s: method %s is not documented for %s (only 405 is acceptable), got %d"
                    % (label, method_l.upper(), tpath, status)]
        if "MethodNotAllowed" not in responses_comp:
            return ["%s: method not documented for %s" % (label, tpath)]
        response = deref(spec, responses_comp["MethodNotAllowed"])
        out = _check_headers(spec, response, hdrs, label) + _check_body(spec, response, hdrs, body_bytes, label)
        allow = hdrs.get("allow")
        if allow is not None:
            documented = sorted(m.upper() for m in HTTP_METHODS if isinstance(item.get(m), dict))
            got = sorted(a.strip().upper() for a in str(allow).split(",") if a.strip())
            missing = [m for m in documented if m not in got]
            if missing:
                out.append("%s: Allow %r lacks documented method(s) %s" % (label, allow, ", ".join(missing)))
        return out

    responses = op.get("responses") or {}
    key = None
    for cand in (str(status), "%dXX" % (status // 100), "default"):
        if cand in responses:
            key = cand
            break
    if key is None:
        return ["%s: status %d is not documented for %s %s (documented: %s)"
                % (label, status, method_l.upper(), tpath, ", ".join(sorted(map(str, responses))))]
    try:
        response = deref(spec, responses[key])
    except KeyError:
        return ["%s: response $ref does not resolve" % label]
    return _check_headers(spec, response, hdrs, label) + _check_body(spec, response, hdrs, body_bytes, label)

# --------------------------------------------------------------------------------------------
# CLI


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s SPEC\n" % argv[0])
        return 2
    path = argv[1]
    try:
        spec = load_spec(path)
        results = [("load", "%s parses as a YAML mapping" % os.path.basename(path), [])]
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print("1..1")
        print("not ok 1 - %s parses as a YAML mapping" % os.path.basename(path))
        for line in str(exc).splitlines():
            print("# " + line)
        return 1
    results += run_spec_checks(spec)
    print("1..%d" % len(results))
    failed = 0
    for i, (_tag, name, errs) in enumerate(results, 1):
        if errs:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for e in errs[:50]:
                for line in str(e).splitlines():
                    print("#   " + line)
            if len(errs) > 50:
                print("#   ... %d more" % (len(errs) - 50))
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
