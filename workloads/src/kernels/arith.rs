//! `arith`: like the paper's pure-Python loop, dependent integer arithmetic.
//! One unit = 64 iterations of `x = rotl(x, 5) ^ i*i`.

use std::hint::black_box;

/// Integer arithmetic with a loop-carried dependency, like `for i in range(n): x = ...`
/// in Python: `x = rotl(x, 5) ^ i*i`. It stays in registers (no per-iteration black_box
/// through the stack, whose speed varied by 35 % between processes) and the compiler can
/// neither vectorise it nor replace it by a closed form. One unit = 64 iterations.
pub fn arith(units: u64) -> u64 {
    arith_iterations(black_box(units).saturating_mul(64))
}

pub fn arith_iterations(n: u64) -> u64 {
    let mut x: u64 = 0;
    for i in 0..n {
        x = x.rotate_left(5) ^ i.wrapping_mul(i);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arith_known_answers() {
        // x: 0 -> rotl(0,5)^0 = 0 -> rotl(0,5)^1 = 1 -> rotl(1,5)^4 = 36 -> rotl(36,5)^9 = 1161
        assert_eq!(arith_iterations(3), 36);
        assert_eq!(arith_iterations(4), (36 * 32) ^ 9);
        assert_eq!(arith(2), arith_iterations(128));
    }
}
