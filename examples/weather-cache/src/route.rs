//! Which requests the component answers: `GET /weather/{city}` only.

use crate::city::City;
use crate::errors::ApiError;

/// The path prefix of the one route.
const PREFIX: &str = "/weather/";

/// The city a request asks about, or why it gets no forecast: 404 for any
/// other path, 405 for another method on the route, 400 for a city that
/// breaks the rules. The query string, if any, is ignored.
pub fn route(method: &str, path_with_query: &str) -> Result<City, ApiError> {
    let path = path_with_query
        .split_once('?')
        .map_or(path_with_query, |(path, _)| path);
    let segment = path
        .strip_prefix(PREFIX)
        .filter(|rest| !rest.contains('/'))
        .ok_or_else(|| ApiError::NotFound(path.to_owned()))?;
    if method != "GET" {
        return Err(ApiError::MethodNotAllowed(method.to_owned()));
    }
    Ok(City::parse(segment)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::CityError;

    #[test]
    fn get_on_the_route_names_the_city() {
        let city = route("GET", "/weather/Paris").expect("routed");
        assert_eq!(city.as_str(), "Paris");
        let city = route("GET", "/weather/New%20York?units=metric").expect("routed");
        assert_eq!(city.as_str(), "New York");
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "/",
            "/weather",
            "/weathers/Paris",
            "/weather/Paris/today",
            "/WEATHER/Paris",
        ] {
            assert_eq!(
                route("GET", path).map_err(|e| e.status()),
                Err(404),
                "{path}"
            );
        }
    }

    #[test]
    fn other_methods_are_not_allowed_on_the_route_only() {
        assert_eq!(
            route("POST", "/weather/Paris"),
            Err(ApiError::MethodNotAllowed("POST".into()))
        );
        assert_eq!(
            route("HEAD", "/weather/Paris").map_err(|e| e.status()),
            Err(405)
        );
        assert_eq!(
            route("DELETE", "/elsewhere").map_err(|e| e.status()),
            Err(404)
        );
    }

    #[test]
    fn a_bad_city_is_invalid_input() {
        assert_eq!(
            route("GET", "/weather/"),
            Err(ApiError::InvalidCity(CityError::Empty))
        );
        assert_eq!(
            route("GET", "/weather/R2D2").map_err(|e| e.status()),
            Err(400)
        );
    }
}
