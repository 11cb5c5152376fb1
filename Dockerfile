# One image for web, worker and beat. Production installs leave the embedded-server extra out:
# DATABASE_URL and REDIS_URL always point at real servers here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app
RUN useradd --create-home --uid 10001 app

COPY pyproject.toml README.md ./
COPY config ./config
COPY core ./core
COPY marketplace ./marketplace
COPY fulfillment ./fulfillment
COPY promotions ./promotions
COPY invitations ./invitations
COPY ratings ./ratings
COPY account_health ./account_health
COPY checkout ./checkout
COPY dashboard ./dashboard
COPY locale ./locale
COPY manage.py gunicorn.conf.py ./

RUN pip install . \
 && DJANGO_ENV=production SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build \
    DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
