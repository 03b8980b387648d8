class ContentSecurityPolicyMiddleware:
    """Only this server's own scripts, styles, images and fonts: no third-party hosts.

    Inline styles are allowed because crispy-forms and the SOP symbols use style attributes;
    inline scripts are not.
    """

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response
