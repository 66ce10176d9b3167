//! AWS faults in-process: the simulated BOSS behind `Faulty`, driven by the real tick and the
//! real controller, with chosen calls failing, throttled, delayed or hung. No moto: the moto
//! tests (`tests/aws`) prove the AWS calls themselves; these prove what the controller makes of
//! their failures.

mod act;
mod controller;
mod intent;
mod observe;
mod replicas;
mod sim;
