#![allow(clippy::unwrap_used)]
#[test]
fn scratch() {
    for re in [r"\p{L}", r"\pL", r"[[:alpha:]]", r"(?<name>x)", r"\d", "a{2,1}", "(", "x{100000}"] {
        println!("{re}: {:?}", toolgate::policy::compile_regex(re).err());
    }
    for t in [
        r#"{"version":"1","default":"deny","tools":{"x":{"deny_if":[{"path":"args.a*","op":"exists"}]}}}"#,
        r#"{"version":"1","default":"deny","tools":{"a b":{"rate_limit":{"max":1,"window":7}}}}"#,
        r#"{"version":"1","default":"deny","mode":"x","pin":{"on_change":"warn"}}"#,
    ] {
        println!("{:?}", toolgate::policy::Policy::from_json(t).err());
    }
}
