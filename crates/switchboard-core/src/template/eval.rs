//! Rendering: walks the AST once per message, writing into one `String`.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use super::ast::{Accessor, BinOp, Expr, Foreach, Node, Offset, Reference};
use super::budget::CLOCK_EVERY;
use super::lexer::line_column;
use super::value::{to_f64, Heap, MapObj, Value};
use super::{
    RenderBudget, TemplateContext, TemplateError, MAX_ALLOC_BYTES, MAX_LOOP_ITERATIONS,
    MAX_RANGE_LEN, MAX_STRING_BYTES,
};

/// What a block asks of the blocks around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Carry on.
    Normal,
    /// `#break`: leave the innermost loop.
    Break,
    /// `#stop`: stop rendering altogether.
    Stop,
}

/// Per-render state.
pub(crate) struct Renderer<'r, 'c> {
    /// What the template sees.
    pub ctx: &'r TemplateContext<'c>,
    /// The template source, for error positions.
    src: &'r str,
    /// Lists and maps made during this render.
    pub heap: Heap,
    /// `#set` variables and loop variables.
    vars: HashMap<Box<str>, Value>,
    /// The limits of this render.
    budget: RenderBudget,
    /// Evaluation steps left; 0 once the step or time budget ran out.
    pub steps_left: u64,
    /// When the time budget runs out; set at the first reading of the clock, so a render of
    /// fewer than [`CLOCK_EVERY`] steps never reads it.
    deadline: Option<Instant>,
    /// The clock is read again when `steps_left` falls to this (0: never, no time budget).
    clock_at: u64,
    /// Whether the time budget ran out.
    timed_out: bool,
    /// Bytes of strings built so far.
    allocated: usize,
    /// Where the construct being evaluated starts (for errors raised from text output).
    pub here: Offset,
    /// The body as a document of heap values, on first use of `$input.json`/`$input.path`.
    pub body_doc: Option<Result<Value, String>>,
    /// `$stageVariables` as a map, on first use.
    pub stage_vars: Option<Value>,
    /// `$input.params()` as a map, on first use.
    pub params_map: Option<Value>,
    /// Compiled regular expressions, by pattern.
    pub regexes: HashMap<Box<str>, regex::Regex>,
}

impl<'r, 'c> Renderer<'r, 'c> {
    /// A renderer for one message.
    pub fn new(ctx: &'r TemplateContext<'c>, src: &'r str, budget: &RenderBudget) -> Self {
        Self {
            ctx,
            src,
            heap: Heap::default(),
            vars: HashMap::new(),
            budget: *budget,
            steps_left: budget.max_steps,
            deadline: None,
            clock_at: next_clock(budget.max_steps, budget),
            timed_out: false,
            allocated: 0,
            here: 0,
            body_doc: None,
            stage_vars: None,
            params_map: None,
            regexes: HashMap::new(),
        }
    }

    /// An error at `at`.
    pub fn err(&self, at: Offset, message: impl Into<String>) -> TemplateError {
        let (line, column) = line_column(self.src, usize::try_from(at).unwrap_or(usize::MAX));
        TemplateError {
            line,
            column,
            message: message.into(),
            client_input: false,
        }
    }

    /// Spends one evaluation step.
    #[inline]
    pub fn tick(&mut self, at: Offset) -> Result<(), TemplateError> {
        self.spend(1, at)
    }

    /// Spends `steps` evaluation steps, reading the clock every [`CLOCK_EVERY`] of them. One
    /// comparison on the common path: `clock_at` is below `steps_left` until either is due.
    #[inline]
    pub fn spend(&mut self, steps: u64, at: Offset) -> Result<(), TemplateError> {
        match self.steps_left.checked_sub(steps) {
            Some(left) if left > self.clock_at => {
                self.steps_left = left;
                Ok(())
            }
            _ => self.spend_slowly(steps, at),
        }
    }

    /// [`Renderer::spend`] when the budget runs out or the clock is due.
    #[cold]
    fn spend_slowly(&mut self, steps: u64, at: Offset) -> Result<(), TemplateError> {
        let Some(left) = self.steps_left.checked_sub(steps) else {
            return Err(self.out_of_steps(at));
        };
        self.steps_left = left;
        self.clock_at = next_clock(left, &self.budget);
        self.check_clock(at)
    }

    /// The step budget is spent: no later step succeeds either.
    fn out_of_steps(&mut self, at: Offset) -> TemplateError {
        self.steps_left = 0;
        self.err(
            at,
            format!(
                "the template took more than {} evaluation steps",
                self.budget.max_steps
            ),
        )
    }

    /// Stops the render once its time budget is spent; no later step succeeds either.
    fn check_clock(&mut self, at: Offset) -> Result<(), TemplateError> {
        let Some(limit) = self.budget.max_time else {
            return Ok(());
        };
        let now = Instant::now();
        let deadline = *self.deadline.get_or_insert(now + limit);
        if now < deadline {
            return Ok(());
        }
        self.timed_out = true;
        self.steps_left = 0;
        Err(self.err(
            at,
            format!(
                "the template took longer than {} ms to render",
                limit.as_millis()
            ),
        ))
    }

    /// Whether the render stopped because its step or time budget ran out.
    pub fn exhausted(&self) -> bool {
        self.timed_out || self.steps_left == 0
    }

    /// Runs heap work metered in steps (JSON import, deep comparison) and spends the steps it
    /// took.
    pub fn metered<T>(
        &mut self,
        at: Offset,
        work: impl FnOnce(&mut Heap, &mut u64) -> Result<T, String>,
    ) -> Result<T, TemplateError> {
        let mut left = self.steps_left;
        let result = work(&mut self.heap, &mut left);
        match result {
            Ok(v) => {
                self.spend(self.steps_left.saturating_sub(left), at)?;
                Ok(v)
            }
            Err(_) if left == 0 => Err(self.out_of_steps(at)),
            Err(message) => Err(self.err(at, message)),
        }
    }

    /// Spends the steps of scanning `len` bytes of text.
    pub fn scan(&mut self, len: usize, at: Offset) -> Result<(), TemplateError> {
        match RenderBudget::text_steps(len) {
            0 => Ok(()),
            steps => self.spend(steps, at),
        }
    }

    /// Accounts for a string of `len` bytes about to be built.
    pub fn charge(&mut self, len: usize, at: Offset) -> Result<(), TemplateError> {
        self.scan(len, at)?;
        if len > MAX_STRING_BYTES {
            return Err(self.err(
                at,
                format!("a string value exceeds the {MAX_STRING_BYTES}-byte limit"),
            ));
        }
        self.allocated = self.allocated.saturating_add(len);
        if self.allocated > MAX_ALLOC_BYTES {
            return Err(self.err(
                at,
                format!("the template built more than {MAX_ALLOC_BYTES} bytes of strings"),
            ));
        }
        Ok(())
    }

    /// A string value, accounted for.
    pub fn string(&mut self, s: &str, at: Offset) -> Result<Value, TemplateError> {
        self.charge(s.len(), at)?;
        Ok(Value::str(s))
    }

    /// Java `String.valueOf(value)`, or `None` for null.
    pub fn display(&mut self, value: &Value, at: Offset) -> Result<Option<String>, TemplateError> {
        let mut s = String::new();
        match self.heap.display(value, &mut s, MAX_STRING_BYTES) {
            Ok(true) => {
                self.charge(s.len(), at)?;
                Ok(Some(s))
            }
            Ok(false) => Ok(None),
            Err(m) => Err(self.err(at, m)),
        }
    }

    /// Appends to the output (or to a string being built), enforcing the size caps.
    fn emit(&self, out: &mut String, s: &str, top: bool) -> Result<(), TemplateError> {
        let limit = if top {
            self.budget.max_output_bytes
        } else {
            MAX_STRING_BYTES
        };
        if out.len().saturating_add(s.len()) > limit {
            return Err(self.err(
                self.here,
                format!("the rendered text exceeds the {limit}-byte limit"),
            ));
        }
        out.push_str(s);
        Ok(())
    }

    /// Renders the whole template.
    pub fn render_template(&mut self, nodes: &[Node]) -> Result<String, TemplateError> {
        let mut out = String::new();
        // `#break` outside a loop and `#stop` both end the render early.
        let _ = self.render_nodes(nodes, &mut out, true)?;
        Ok(out)
    }

    /// Renders `nodes` into `out`; `top` is true for the template output itself.
    pub fn render_nodes(
        &mut self,
        nodes: &[Node],
        out: &mut String,
        top: bool,
    ) -> Result<Flow, TemplateError> {
        for node in nodes {
            self.tick(self.here)?;
            match node {
                Node::Text(t) => self.emit(out, t, top)?,
                Node::Ref(r) => {
                    let v = self.eval_ref(r)?;
                    match self.display(&v, r.at)? {
                        Some(s) => self.emit(out, &s, top)?,
                        None if r.quiet => {}
                        None => self.emit(out, &r.source, top)?,
                    }
                }
                Node::EscapedRef {
                    backslashes,
                    reference,
                } => {
                    let v = self.eval_ref(reference)?;
                    let n = usize::try_from(*backslashes).unwrap_or(0);
                    if v.is_null() {
                        self.emit(out, &"\\".repeat(n), top)?;
                        self.emit(out, &reference.source, top)?;
                    } else {
                        self.emit(out, &"\\".repeat(n / 2), top)?;
                        if n % 2 == 1 {
                            self.emit(out, &reference.source, top)?;
                        } else if let Some(s) = self.display(&v, reference.at)? {
                            self.emit(out, &s, top)?;
                        }
                    }
                }
                Node::Set { target, value } => {
                    self.here = target.at;
                    let v = self.eval(value)?;
                    self.assign(target, v)?;
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut body = otherwise.as_deref();
                    for (cond, branch) in branches {
                        if self.condition(cond)? {
                            body = Some(branch);
                            break;
                        }
                    }
                    if let Some(body) = body {
                        let flow = self.render_nodes(body, out, top)?;
                        if flow != Flow::Normal {
                            return Ok(flow);
                        }
                    }
                }
                Node::Foreach(f) => {
                    if self.foreach(f, out, top)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(Flow::Normal)
    }

    fn foreach(&mut self, f: &Foreach, out: &mut String, top: bool) -> Result<Flow, TemplateError> {
        self.here = f.at;
        let iterable = self.eval(&f.iterable)?;
        let items: Vec<Value> = match &iterable {
            Value::List(id) => self.heap.list(*id).to_vec(),
            Value::Map(id) => self
                .heap
                .map(*id)
                .map(|m| m.values().to_vec())
                .unwrap_or_default(),
            // Velocity skips what it cannot iterate (null, strings, numbers).
            _ => return Ok(Flow::Normal),
        };
        if items.len() > MAX_LOOP_ITERATIONS {
            return Err(self.err(
                f.at,
                format!(
                    "#foreach over {} items exceeds the limit of {MAX_LOOP_ITERATIONS}",
                    items.len()
                ),
            ));
        }
        let names = [&*f.var, "foreach", "velocityCount", "velocityHasNext"];
        let saved: Vec<Option<Value>> = names.iter().map(|n| self.vars.get(*n).cloned()).collect();
        let count = items.len();
        let mut flow = Flow::Normal;
        for (i, item) in items.into_iter().enumerate() {
            self.tick(f.at)?;
            let index = i64::try_from(i).unwrap_or(i64::MAX);
            let has_next = i + 1 < count;
            if item.is_null() {
                self.vars.remove(&*f.var);
            } else {
                self.vars.insert(f.var.clone(), item);
            }
            self.vars
                .insert("foreach".into(), Value::Foreach { index, has_next });
            self.vars
                .insert("velocityCount".into(), Value::Int(index.saturating_add(1)));
            self.vars
                .insert("velocityHasNext".into(), Value::Bool(has_next));
            match self.render_nodes(&f.body, out, top)? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        for (name, old) in names.iter().zip(saved) {
            match old {
                Some(v) => {
                    self.vars.insert((*name).into(), v);
                }
                None => {
                    self.vars.remove(*name);
                }
            }
        }
        Ok(flow)
    }

    /// `#set`: a null value leaves the target unchanged (Velocity 1.7 default).
    fn assign(&mut self, target: &Reference, value: Value) -> Result<(), TemplateError> {
        if value.is_null() {
            return Ok(());
        }
        let Some((last, init)) = target.accessors.split_last() else {
            self.vars.insert(target.root.clone(), value);
            return Ok(());
        };
        let receiver = self.eval_chain(target, init)?;
        match (last, receiver) {
            (Accessor::Property(name), Value::Map(id)) => {
                if let Some(m) = self.heap.map_mut(id) {
                    m.insert(Rc::from(&**name), value);
                }
            }
            (Accessor::Index { index, at }, Value::List(id)) => {
                let i = self.eval(index)?;
                self.list_set(id, &i, value, *at)?;
            }
            (Accessor::Index { index, at }, Value::Map(id)) => {
                let k = self.eval(index)?;
                let key = self.display(&k, *at)?.unwrap_or_else(|| "null".into());
                if let Some(m) = self.heap.map_mut(id) {
                    m.insert(Rc::from(key), value);
                }
            }
            // Anything else cannot be assigned into; Velocity logs and carries on.
            _ => {}
        }
        Ok(())
    }

    /// Evaluates a reference.
    pub fn eval_ref(&mut self, r: &Reference) -> Result<Value, TemplateError> {
        self.here = r.at;
        self.eval_chain(r, &r.accessors)
    }

    /// The root of `r` followed by `accessors`.
    fn eval_chain(
        &mut self,
        r: &Reference,
        accessors: &[Accessor],
    ) -> Result<Value, TemplateError> {
        let mut v = self.lookup(&r.root);
        for acc in accessors {
            self.tick(r.at)?;
            if matches!(v, Value::Null) {
                return Ok(Value::Null);
            }
            v = match acc {
                Accessor::Property(name) => self.property(v, name, r.at)?,
                Accessor::Method { name, args, at } => {
                    if v.is_null() {
                        return Ok(Value::Null);
                    }
                    let mut values = Vec::with_capacity(args.len());
                    for a in args {
                        values.push(self.eval(a)?);
                    }
                    self.call(v, name, &values, *at)?
                }
                Accessor::Index { index, at } => {
                    let i = self.eval(index)?;
                    self.index(v, &i, *at)?
                }
            };
        }
        Ok(v)
    }

    /// A root variable: `#set` ones first, then the built-ins.
    fn lookup(&mut self, name: &str) -> Value {
        if let Some(v) = self.vars.get(name) {
            return v.clone();
        }
        match name {
            "input" => Value::Input,
            "util" => Value::Util,
            "context" => Value::Context(Rc::from("")),
            "stageVariables" => self.stage_variables(),
            _ => Value::Null,
        }
    }

    /// `$stageVariables` as a map (built once per render).
    fn stage_variables(&mut self) -> Value {
        if let Some(v) = &self.stage_vars {
            return v.clone();
        }
        let mut m = MapObj::default();
        for (k, v) in self.ctx.stage_variables {
            m.insert(Rc::from(k.as_str()), Value::str(v));
        }
        let v = self.heap.new_map(m);
        self.stage_vars = Some(v.clone());
        v
    }

    /// `$context.<path>` via the gateway's [`super::ContextVariables`].
    fn context_value(&mut self, path: &str, at: Offset) -> Result<Value, TemplateError> {
        match self.ctx.context.get(path) {
            Some(json) => self.metered(at, |heap, budget| heap.import_json(&json, budget, 0)),
            None => Ok(Value::Context(Rc::from(path))),
        }
    }

    /// `value.name`.
    fn property(&mut self, v: Value, name: &str, at: Offset) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::Map(id) => self
                .heap
                .map(id)
                .and_then(|m| m.get(name))
                .cloned()
                .unwrap_or(Value::Null),
            Value::Context(path) => {
                let full = if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                self.context_value(&full, at)?
            }
            Value::Input if name == "body" => {
                let body = self.ctx.body;
                self.string(body, at)?
            }
            Value::Foreach { index, has_next } => match name {
                "hasNext" => Value::Bool(has_next),
                "index" => Value::Int(index),
                "count" => Value::Int(index.saturating_add(1)),
                "first" => Value::Bool(index == 0),
                "last" => Value::Bool(!has_next),
                _ => Value::Null,
            },
            Value::Entry(id) => match (self.heap.get(id), name) {
                (Some(super::value::Obj::Entry(k, _)), "key") => Value::Str(k.clone()),
                (Some(super::value::Obj::Entry(_, v)), "value") => v.clone(),
                _ => Value::Null,
            },
            Value::Str(s) if name == "empty" => Value::Bool(s.is_empty()),
            Value::List(id) if name == "empty" => Value::Bool(self.heap.list(id).is_empty()),
            _ => Value::Null,
        })
    }

    /// `value[index]`.
    fn index(&mut self, v: Value, i: &Value, at: Offset) -> Result<Value, TemplateError> {
        match v {
            Value::List(id) => {
                let items = self.heap.list(id);
                let Some(n) = i.as_int() else {
                    return Ok(Value::Null);
                };
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let pos = if n < 0 { len + n } else { n };
                match usize::try_from(pos).ok().and_then(|p| items.get(p)) {
                    Some(v) => Ok(v.clone()),
                    None => {
                        Err(self.err(at, format!("list index {n} is out of bounds (size {len})")))
                    }
                }
            }
            Value::Map(_) | Value::Context(_) => {
                let key = self.display(i, at)?.unwrap_or_else(|| "null".into());
                self.property(v, &key, at)
            }
            _ => Ok(Value::Null),
        }
    }

    /// `list[i] = value`.
    pub fn list_set(
        &mut self,
        id: usize,
        i: &Value,
        value: Value,
        at: Offset,
    ) -> Result<Value, TemplateError> {
        let len = self.heap.list(id).len();
        let pos = i.as_int().and_then(|n| {
            let n = if n < 0 {
                n + i64::try_from(len).ok()?
            } else {
                n
            };
            usize::try_from(n).ok()
        });
        match (pos, self.heap.list_mut(id)) {
            (Some(p), Some(items)) if p < items.len() => {
                Ok(std::mem::replace(&mut items[p], value))
            }
            _ => Err(self.err(at, format!("list index is out of bounds (size {len})"))),
        }
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, e: &Expr) -> Result<Value, TemplateError> {
        let here = self.here;
        self.tick(here)?;
        Ok(match e {
            Expr::Null => Value::Null,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => self.string(s, here)?,
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                let _ = self.render_nodes(nodes, &mut s, false)?;
                self.here = here;
                self.charge(s.len(), here)?;
                Value::Str(Rc::from(s))
            }
            Expr::Ref(r) => self.eval_ref(r)?,
            Expr::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item)?);
                }
                self.heap.new_list(values, false)
            }
            Expr::Range(a, b, at) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                let (Some(a), Some(b)) = (range_bound(&a), range_bound(&b)) else {
                    return Ok(Value::Null);
                };
                let len = a.abs_diff(b).saturating_add(1);
                if len > MAX_RANGE_LEN as u64 {
                    return Err(self.err(
                        *at,
                        format!("range [{a}..{b}] exceeds the limit of {MAX_RANGE_LEN} items"),
                    ));
                }
                let items: Vec<Value> = if a <= b {
                    (a..=b).map(Value::Int).collect()
                } else {
                    (b..=a).rev().map(Value::Int).collect()
                };
                self.heap.new_list(items, false)
            }
            Expr::Map(entries) => {
                let mut m = MapObj::default();
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let key = self.display(&k, here)?.unwrap_or_else(|| "null".into());
                    let v = self.eval(v)?;
                    m.insert(Rc::from(key), v);
                }
                self.heap.new_map(m)
            }
            Expr::Not(inner) => Value::Bool(!self.condition(inner)?),
            Expr::Neg(inner) => match self.eval(inner)? {
                Value::Int(i) => i
                    .checked_neg()
                    .map_or(Value::Float(-(i as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Binary(op, l, r, at) => self.binary(*op, l, r, *at)?,
        })
    }

    /// An expression as a condition (`#if`, `#elseif`, and the operands of `!`, `&&`, `||`),
    /// as Velocity 1.7 evaluates one: a reference is true unless null or `false`; `true`,
    /// `false`, comparisons and logical operators are what they say; every other expression
    /// (string, number, list, map and range literals, arithmetic) is false, unevaluated.
    fn condition(&mut self, e: &Expr) -> Result<bool, TemplateError> {
        match e {
            Expr::Bool(b) => Ok(*b),
            Expr::Ref(_)
            | Expr::Not(_)
            | Expr::Binary(
                BinOp::Or
                | BinOp::And
                | BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge,
                ..,
            ) => Ok(self.eval(e)?.truthy()),
            Expr::Null
            | Expr::Int(_)
            | Expr::Float(_)
            | Expr::Str(_)
            | Expr::Interpolated(_)
            | Expr::List(_)
            | Expr::Range(..)
            | Expr::Map(_)
            | Expr::Neg(_)
            | Expr::Binary(..) => Ok(false),
        }
    }

    /// A `+` operand joined to a string: its text, or a null reference's source text.
    fn operand_text(
        &mut self,
        v: &Value,
        e: &Expr,
        at: Offset,
    ) -> Result<Option<String>, TemplateError> {
        if v.is_null() {
            return Ok(match e {
                Expr::Ref(r) => Some(r.source.to_string()),
                _ => None,
            });
        }
        Ok(Some(self.display(v, at)?.unwrap_or_default()))
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: &Expr,
        r: &Expr,
        at: Offset,
    ) -> Result<Value, TemplateError> {
        match op {
            BinOp::Or => {
                let v = self.condition(l)? || self.condition(r)?;
                return Ok(Value::Bool(v));
            }
            BinOp::And => {
                let v = self.condition(l)? && self.condition(r)?;
                return Ok(Value::Bool(v));
            }
            _ => {}
        }
        let a = self.eval(l)?;
        let b = self.eval(r)?;
        let cmp = |a: &Value, b: &Value| -> Option<std::cmp::Ordering> {
            match (a, b) {
                (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                    to_f64(a).partial_cmp(&to_f64(b))
                }
                _ => None,
            }
        };
        Ok(match op {
            BinOp::Eq | BinOp::Ne => {
                let eq = self.metered(at, |heap, budget| heap.equals(&a, &b, 0, budget))?;
                Value::Bool(eq == (op == BinOp::Eq))
            }
            BinOp::Lt => Value::Bool(cmp(&a, &b).is_some_and(|o| o.is_lt())),
            BinOp::Le => Value::Bool(cmp(&a, &b).is_some_and(|o| o.is_le())),
            BinOp::Gt => Value::Bool(cmp(&a, &b).is_some_and(|o| o.is_gt())),
            BinOp::Ge => Value::Bool(cmp(&a, &b).is_some_and(|o| o.is_ge())),
            BinOp::Add if matches!(a, Value::Str(_)) || matches!(b, Value::Str(_)) => {
                // Velocity 1.7 joins a null reference as its source text (`'x' + $nope` is
                // `x$nope`); any other null operand makes the sum null.
                let (Some(x), Some(y)) =
                    (self.operand_text(&a, l, at)?, self.operand_text(&b, r, at)?)
                else {
                    return Ok(Value::Null);
                };
                self.charge(x.len() + y.len(), at)?;
                Value::Str(Rc::from(x + &y))
            }
            _ => arithmetic(op, &a, &b),
        })
    }
}

/// Where `clock_at` goes with `steps_left` steps left: [`CLOCK_EVERY`] steps on, or 0 (the
/// end of the budget) when there is no time budget.
fn next_clock(steps_left: u64, budget: &RenderBudget) -> u64 {
    match budget.max_time {
        Some(_) => steps_left.saturating_sub(CLOCK_EVERY),
        None => 0,
    }
}

/// An integer range bound (integral floats and numeric strings count, as Velocity coerces).
fn range_bound(v: &Value) -> Option<i64> {
    match v {
        Value::Str(s) => s.trim().parse().ok(),
        other => other.as_int(),
    }
}

/// `+ - * / %` on numbers; null for anything else, for division by zero, as Velocity 1.7.
fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            let exact = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div if y == 0 => return Value::Null,
                BinOp::Div => x.checked_div(y),
                BinOp::Mod if y == 0 => return Value::Null,
                BinOp::Mod => x.checked_rem(y),
                _ => return Value::Null,
            };
            // Past i64 Java would go to BigInteger; a double is the nearest we keep.
            exact.map_or_else(|| float_op(op, x as f64, y as f64), Value::Int)
        }
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let y = to_f64(b);
            if y == 0.0 && matches!(op, BinOp::Div | BinOp::Mod) {
                return Value::Null;
            }
            float_op(op, to_f64(a), y)
        }
        _ => Value::Null,
    }
}

fn float_op(op: BinOp, x: f64, y: f64) -> Value {
    Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Mod => x % y,
        _ => return Value::Null,
    })
}
