"""The OpenAPI spec (`/api/v1/_openapi`), built once per app, version and host: FAB's own view rebuilds it
at every request, parsing the YAML of every endpoint's docstring (about 0.8 s of CPU each time)."""
from flask import current_app, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi as FabOpenApi
from flask_appbuilder.api.manager import SwaggerView  # noqa: F401 - registered beside the spec

SPECS = "openapi_specs"  # app.extensions: {(version, host url): the spec as a dict}


class OpenApi(FabOpenApi):
    """FAB's spec view (same name, route and permission), answering from the app's cache."""

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI spec of one API version
        ---
        get:
          description: The OpenAPI spec of every endpoint of the version
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI spec
              content:
                application/json:
                  schema:
                    type: object
            404:
              $ref: '#/components/responses/404'
        """
        specs = current_app.extensions.setdefault(SPECS, {})
        key = (version, request.host_url)
        if key not in specs:
            apis = [v for v in current_app.appbuilder.baseviews if isinstance(v, BaseApi) and v.version == version]
            if not apis:
                return self.response_404()
            spec = self._create_api_spec(version)
            for api in apis:
                api.add_api_spec(spec)
            specs[key] = spec.to_dict()
        return self.response(200, **specs[key])
