pub mod vtl_case;
