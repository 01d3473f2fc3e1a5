"""Installers that put a framework's memory on Hindsight without editing the framework."""
