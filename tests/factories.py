"""factory_boy factories for the shared kernel. Apps add theirs in tests/<app>/factories.py."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from marketplace.choices import FulfilmentChannel, SellerStatus
from marketplace.models import Address, Category, Offer, Product, Seller, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    date_joined = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    owner = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Seller {n}")
    status = SellerStatus.ACTIVE
    country = "DE"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A fine product."
    brand = "Acme"


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    seller = factory.SubFactory(SellerFactory)
    product = factory.SubFactory(ProductFactory)
    price = Decimal("19.99")
    currency = "EUR"
    stock = 10
    fulfilment_channel = FulfilmentChannel.SELLER
    handling_days = 1


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    owner = factory.SubFactory(UserFactory)
    name = factory.Faker("name")
    line1 = "Hauptstraße 1"
    city = "Berlin"
    postal_code = "10115"
    country = "DE"
    is_default = True
